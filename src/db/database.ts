import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { migrationSource } from '../../migrations/index.js';
import { startEmbeddedPostgres } from './embedded.js';

export type Db = Knex;

// Dates and timestamps travel as ISO strings, numerics as numbers: the API speaks JSON, and a DATE
// parsed into a JS Date would shift with the server's time zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);
pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, (value) => new Date(value).toISOString());
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => Number(value));
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface Database {
  knex: Knex;
  /** Connection string, for the dedicated LISTEN connection. */
  url: string;
  /** True when Custos started its own PostgreSQL. */
  embedded: boolean;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  databaseUrl?: string;
  dataDir: string;
  /** As root: where the files the postgres user must reach are prepared (CUSTOS_PG_RUNTIME_DIR). */
  pgRuntimeDir?: string;
  /** For commands that read state: use the embedded database that exists (running or not), never create one. */
  existingOnly?: boolean;
  onEmbeddedLog?: (line: string) => void;
}

export function createKnex(connectionString: string): Knex {
  return knexFactory({
    client: 'pg',
    connection: { connectionString, application_name: 'custos' },
    pool: { min: 0, max: 10 },
    migrations: { migrationSource, tableName: 'knex_migrations' },
  });
}

/** Connects to DATABASE_URL, or starts the embedded PostgreSQL when there is none. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const knex = createKnex(options.databaseUrl);
    return { knex, url: options.databaseUrl, embedded: false, close: () => knex.destroy() };
  }
  const server = await startEmbeddedPostgres(options.dataDir, options.onEmbeddedLog ?? (() => {}), { runtimeDir: options.pgRuntimeDir, existingOnly: options.existingOnly });
  const knex = createKnex(server.url);
  return {
    knex,
    url: server.url,
    embedded: true,
    close: async () => {
      await knex.destroy();
      await server.stop();
    },
  };
}

export async function migrateToLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest()) as [number, string[]];
  return applied;
}

export async function pendingMigrations(knex: Knex): Promise<string[]> {
  const [, pending] = (await knex.migrate.list()) as [unknown, Array<{ name: string }>];
  return pending.map((m) => m.name);
}
