// A dependency-free HTTP server. With --self-test it listens on an ephemeral
// loopback port, requests itself once, prints the answer and exits, so the
// measurement can compare the output of both images.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const server = http.createServer((request, response) => {
  // The app records its hits in a log shipped next to its code: as a non-root
  // user that works only when the file was copied with --chown.
  fs.appendFileSync(path.join(__dirname, 'hits.log'), `${request.url}\n`);
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify({ status: 'ok', path: request.url }));
});

if (process.argv.includes('--self-test')) {
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    http.get({ host: '127.0.0.1', port, path: '/health' }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => {
        console.log(body);
        server.close();
      });
    });
  });
} else {
  server.listen(Number(process.env.PORT ?? 3000), () => console.log('listening'));
}
