const pkg = require('../package.json');

console.log(`hello from ${pkg.name} ${pkg.version} (${process.env.NODE_ENV ?? 'no NODE_ENV'})`);
