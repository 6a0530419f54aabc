import { ConfigError, loadConfig } from '../config.js';
import { migrateToLatest, openDatabase } from '../db/database.js';

/** `npm run migrate`: applies pending migrations to DATABASE_URL, or to the embedded database. */
try {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, pgRuntimeDir: config.pgRuntimeDir });
  try {
    const applied = await migrateToLatest(database.knex);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'already up to date\n');
  } finally {
    await database.close();
  }
} catch (error) {
  process.stderr.write(`custos migrate: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
