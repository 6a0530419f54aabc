import { readFileSync } from 'node:fs';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { verifyChain } from '../evidence/chain.js';
import { verifyExport } from '../evidence/verify-export.js';
import { configuredBodyStore, useBodyStore } from '../evidence/body-store.js';

/**
 * `npm run evidence:verify`: re-checks the evidence chain; exit 1 and the first break if it is broken.
 * `npm run evidence:verify -- --export custos-evidence.zip [--public-key custos.pem]`: checks an
 * auditor export offline (signature, every file, every chain row and body); no database needed.
 */
const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const exportFile = option('--export');
if (exportFile) {
  try {
    const keyFile = option('--public-key');
    const result = await verifyExport(exportFile, keyFile ? readFileSync(keyFile, 'utf8') : undefined);
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    process.exit(result.ok ? 0 : 1);
  } catch (error) {
    process.stderr.write(`custos evidence:verify: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
try {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    // Bodies kept in S3 are read back from there and checked against the chain.
    const store = configuredBodyStore(config);
    if (store) useBodyStore(database.knex, store);
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
