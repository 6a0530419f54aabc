import pg from 'pg';
import t from 'tap';
import { freshDatabaseUrl } from '../helpers/app.js';

// Several Custos instances share one embedded database (test/sources/distributed-collection.test.ts,
// bench:collect): PostgreSQL's default of 100 connections ran out under them.
t.test('the embedded PostgreSQL allows 200 connections', async (t) => {
  const client = new pg.Client({ connectionString: await freshDatabaseUrl() });
  await client.connect();
  t.teardown(() => client.end());
  t.equal((await client.query('SHOW max_connections')).rows[0].max_connections, '200');
});
