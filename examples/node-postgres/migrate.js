// The release phase (Procfile `release:`): creates the table before any new container starts.
const { Client } = require('pg');

async function main() {
  if (!process.env.DATABASE_URL) return console.log('no DATABASE_URL: nothing to migrate');
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  await client.query('CREATE TABLE IF NOT EXISTS hits (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), note text)');
  await client.end();
  console.log('table hits is there');
}

main().catch((error) => { console.error(error); process.exit(1); });
