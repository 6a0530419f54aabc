import { ensureFirstAdminKey } from '../auth/bootstrap.js';
import { loadConfig } from '../config.js';
import { migrateToLatest, openDatabase } from '../db/database.js';
import { loadDemoData } from '../demo/load.js';

/** `npm run seed:demo`: loads the wealth-management demo catalog (idempotent). */
try {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, pgRuntimeDir: config.pgRuntimeDir });
  try {
    await migrateToLatest(database.knex);
    await ensureFirstAdminKey(database.knex, {
      adminKey: config.adminKey,
      dataDir: config.dataDir,
      announce: (message) => process.stderr.write(message + '\n'),
    });
    const counts = await loadDemoData(database.knex);
    process.stdout.write(`demo data loaded (new entries): ${JSON.stringify(counts)}\n`);
  } finally {
    await database.close();
  }
} catch (error) {
  process.stderr.write(`custos seed:demo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
