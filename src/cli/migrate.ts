import { ConfigError, loadConfig } from '../config.js';
import { openDatabase, prepareDatabase } from '../db/database.js';

/** `npm run migrate`: applies pending migrations as the owner (MIGRATION_DATABASE_URL, else DATABASE_URL, else the embedded database's) and grants the runtime role. */
try {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, migrationDatabaseUrl: config.migrationDatabaseUrl, dataDir: config.dataDir, pgRuntimeDir: config.pgRuntimeDir });
  try {
    const applied = await prepareDatabase(database);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'already up to date\n');
  } finally {
    await database.close();
  }
} catch (error) {
  process.stderr.write(`custos migrate: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
