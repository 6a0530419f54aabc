import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { migrationSource } from '../../migrations/index.js';
import { startEmbeddedPostgres } from './embedded.js';
import { ensureRuntimeRole, grantRuntime, roleOf } from './roles.js';

export type Db = Knex;

// Dates and timestamps travel as ISO strings, numerics as numbers: the API speaks JSON, and a DATE
// parsed into a JS Date would shift with the server's time zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);
pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, (value) => new Date(value).toISOString());
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => Number(value));
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface Database {
  knex: Knex;
  /** Connection string of the runtime role, for the dedicated LISTEN connection and the job queue. */
  url: string;
  /** Connection string of the owner, which runs migrations; the runtime's when only one role is configured. */
  ownerUrl: string;
  /** True when Custos started its own PostgreSQL. */
  embedded: boolean;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  databaseUrl?: string;
  /** MIGRATION_DATABASE_URL: the owner role that runs migrations; DATABASE_URL is then the runtime role. */
  migrationDatabaseUrl?: string;
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

/**
 * Connects to DATABASE_URL (migrating as MIGRATION_DATABASE_URL when set), or starts the embedded
 * PostgreSQL, whose superuser is the owner and which gets a runtime role `custos_app` (src/db/roles.ts).
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const knex = createKnex(options.databaseUrl);
    return { knex, url: options.databaseUrl, ownerUrl: options.migrationDatabaseUrl ?? options.databaseUrl, embedded: false, close: () => knex.destroy() };
  }
  const server = await startEmbeddedPostgres(options.dataDir, options.onEmbeddedLog ?? (() => {}), { runtimeDir: options.pgRuntimeDir, existingOnly: options.existingOnly });
  let url: string;
  const owner = createKnex(server.url);
  try {
    url = await ensureRuntimeRole(owner, server.url, options.dataDir);
  } catch (error) {
    await server.stop();
    throw error;
  } finally {
    await owner.destroy();
  }
  const knex = createKnex(url);
  return {
    knex,
    url,
    ownerUrl: server.url,
    embedded: true,
    close: async () => {
      await knex.destroy();
      await server.stop();
    },
  };
}

/**
 * Migrates as the owner and grants the runtime role its rights (when they are two roles). Returns
 * the migrations applied.
 */
export async function prepareDatabase(database: Pick<Database, 'knex' | 'url' | 'ownerUrl'>): Promise<string[]> {
  if (database.ownerUrl === database.url) return migrateToLatest(database.knex);
  const owner = createKnex(database.ownerUrl);
  try {
    const applied = await migrateToLatest(owner);
    await grantRuntime(owner, roleOf(database.url));
    return applied;
  } finally {
    await owner.destroy();
  }
}

export async function migrateToLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest()) as [number, string[]];
  return applied;
}

export async function pendingMigrations(knex: Knex): Promise<string[]> {
  const [, pending] = (await knex.migrate.list()) as [unknown, Array<{ name: string }>];
  return pending.map((m) => m.name);
}
