// GET /       -> a greeting (answers without a database too)
// POST /hits  -> inserts a row, answers its id once committed
// GET /hits   -> the number of rows
// POST /visits -> INCR in Redis, answers the new value
const http = require('node:http');
const { Pool } = require('pg');
const { createClient } = require('redis');

const pool = process.env.DATABASE_URL ? new Pool({ connectionString: process.env.DATABASE_URL, max: 5 }) : undefined;
const redis = process.env.REDIS_URL ? createClient({ url: process.env.REDIS_URL }) : undefined;
redis?.on('error', (error) => console.error('redis:', error.message));
redis?.connect().catch(() => {});
pool?.on('error', (error) => console.error('postgres:', error.message));

const send = (res, status, body) => { res.writeHead(status, { 'content-type': 'text/plain' }); res.end(String(body)); };

const server = http.createServer(async (req, res) => {
  try {
    if (req.url === '/hits' && req.method === 'POST') {
      if (!pool) return send(res, 503, 'no DATABASE_URL');
      const { rows } = await pool.query('INSERT INTO hits (note) VALUES ($1) RETURNING id', [process.env.PAAS_RELEASE || '']);
      return send(res, 200, rows[0].id);
    }
    if (req.url === '/hits') {
      if (!pool) return send(res, 503, 'no DATABASE_URL');
      const { rows } = await pool.query('SELECT count(*) AS n FROM hits');
      return send(res, 200, rows[0].n);
    }
    if (req.url === '/visits' && req.method === 'POST') {
      if (!redis?.isReady) return send(res, 503, 'no REDIS_URL');
      return send(res, 200, await redis.incr('visits'));
    }
    return send(res, 200, `Hello from node-postgres ${process.env.PAAS_RELEASE || ''}`);
  } catch (error) {
    return send(res, 500, error.message);
  }
});

server.listen(process.env.PORT || 3000);
process.on('SIGTERM', () => server.close(() => Promise.all([pool?.end(), redis?.quit()]).finally(() => process.exit(0))));
