const os = require('node:os');
const express = require('express');

const NAME = 'node';
const VERSION = 1;

const app = express();
app.get('/up', (_req, res) => res.send('ok\n'));
// Which replica answered: the process paas started (web.1, web.2, ...), else the container's host name.
app.get('/whoami', (_req, res) => res.send(`${process.env.PAAS_PROCESS ?? os.hostname()}\n`));
app.get('/', (_req, res) => res.send(`Hello from the ${NAME} example, version ${VERSION}\n`));
// The exact bytes of an environment variable (config vars: `paas config:set`), 404 when unset.
app.get('/env/:name', (req, res) => {
  const value = process.env[req.params.name];
  if (value === undefined) return res.status(404).send('unset\n');
  res.type('application/octet-stream').send(Buffer.from(value, 'utf8'));
});

const port = Number(process.env.PORT || 8080);
const server = app.listen(port, () => console.log(`${NAME} example v${VERSION} listening on ${port}`));
// Finish in-flight requests on SIGTERM, then exit: what a zero-downtime rollout expects.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
