import pg from 'pg';
import t from 'tap';
import { serverSettings } from '../../src/db/embedded.js';
import { freshDatabaseUrl } from '../helpers/app.js';

// Several Custos instances share one embedded database (test/sources/distributed-collection.test.ts,
// bench:collect): PostgreSQL's default of 100 connections ran out under them.
t.test('the embedded PostgreSQL allows 200 connections', async (t) => {
  const client = new pg.Client({ connectionString: await freshDatabaseUrl() });
  await client.connect();
  t.teardown(() => client.end());
  t.equal((await client.query('SHOW max_connections')).rows[0].max_connections, '200');
});

// Sized for an estate's evaluation (src/db/embedded.ts, serverSettings): with PostgreSQL's defaults a
// re-evaluation's joins over two runs spilled to disk and read pages back from the kernel.
t.test('the embedded PostgreSQL has the memory an evaluation needs', async (t) => {
  const client = new pg.Client({ connectionString: await freshDatabaseUrl() });
  await client.connect();
  t.teardown(() => client.end());
  const setting = async (name: string) => (await client.query('SELECT pg_size_bytes(current_setting($1)) AS bytes', [name])).rows[0].bytes;
  const expected = serverSettings();
  t.equal(Number(await setting('shared_buffers')), Number((await client.query('SELECT pg_size_bytes($1) AS b', [expected.shared_buffers])).rows[0].b));
  t.ok(Number(await setting('shared_buffers')) >= 128 * 1024 * 1024, 'at least PostgreSQL default');
  t.equal(Number(await setting('work_mem')), 32 * 1024 * 1024);
});
