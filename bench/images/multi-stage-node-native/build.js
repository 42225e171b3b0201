// The build script: copies src/ to dist/ with a banner, as a bundler would.
const fs = require('node:fs');
const path = require('node:path');

fs.mkdirSync(path.join(__dirname, 'dist'), { recursive: true });
for (const file of fs.readdirSync(path.join(__dirname, 'src'))) {
  const source = fs.readFileSync(path.join(__dirname, 'src', file), 'utf8');
  fs.writeFileSync(path.join(__dirname, 'dist', file), `// built by build.js\n${source}`);
}
