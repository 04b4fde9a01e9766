// Served by the app's own Dockerfile: paas builds it as is and reads the port from EXPOSE.
const http = require('node:http');

const NAME = 'dockerfile';
const VERSION = 1;

const server = http.createServer((req, res) => {
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(req.url === '/up' ? 'ok\n' : `Hello from the ${NAME} example, version ${VERSION}\n`);
});
const port = Number(process.env.PORT || 3000);
server.listen(port, () => console.log(`${NAME} example v${VERSION} listening on ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
