import { loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { verifyChain } from '../evidence/chain.js';

/** `npm run evidence:verify`: re-checks the evidence chain; exit 1 and the first break if it is broken. */
try {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const result = await verifyChain(database.knex);
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    if (!result.ok) process.exitCode = 1;
  } finally {
    await database.close();
  }
} catch (error) {
  process.stderr.write(`custos evidence:verify: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
