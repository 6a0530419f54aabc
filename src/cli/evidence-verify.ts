import { readFileSync } from 'node:fs';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { verifyChain } from '../evidence/chain.js';
import { verifyExport } from '../evidence/verify-export.js';
import { configuredBodyStore, useBodyStore } from '../evidence/body-store.js';

/**
 * `npm run evidence:verify`: re-checks the evidence chain; exit 1 and the first break if it is broken.
 * `npm run evidence:verify -- --export custos-evidence.zip --public-key custos.pem` (or
 * `--expect-fingerprint <key_id>`): checks an auditor export offline (signature with that trusted
 * key, every file, every chain row and body); no database needed. Without a trusted key it never
 * says ok: a zip's own key proves nothing. Exit 1 on any problem, with the problems listed; items
 * received after the period ended are warnings (stderr and `warnings` in the output), exit 0.
 */
const USAGE = `usage: npm run evidence:verify [-- --export <zip> (--public-key <pem> | --expect-fingerprint <key_id>)]
  without --export: re-checks the evidence chain in Custos's database (DATABASE_URL, or the embedded
                    one in CUSTOS_DATA_DIR, default ./var; it is used as it is, running or not, never created)
  --export <zip>    checks an auditor export offline: signature, every file, chain rows and bodies
  --public-key <pem> the key the manifest must be signed with (GET /v1/evidence/public-key)
  --expect-fingerprint <key_id>  or: trust the zip's public-key.pem only if its SHA-256 (DER) is this
                    key_id (GET /v1/evidence/public-key); without a trusted key an export is never ok
  --help            this text`;
const args = process.argv.slice(2);
const fail = (message: string): never => {
  process.stderr.write(`custos evidence:verify: ${message}\n`);
  process.exit(1);
};
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}
const option = (name: string) => {
  if (!args.includes(name)) return undefined;
  const value = args[args.indexOf(name) + 1];
  return value === undefined || value.startsWith('--') ? fail(`${name} needs ${name === '--expect-fingerprint' ? 'a key id' : 'a file name'} (see --help)`) : value;
};
const OPTIONS = ['--export', '--public-key', '--expect-fingerprint'];
const unknown = args.filter((arg, i) => (arg.startsWith('-') ? !OPTIONS.includes(arg) : !OPTIONS.includes(args[i - 1] ?? '')));
if (unknown.length > 0) fail(`unknown argument ${unknown[0]} (see --help)`);
const exportFile = option('--export');
if (!exportFile && (option('--public-key') || option('--expect-fingerprint'))) fail('--public-key and --expect-fingerprint check an export: give the export with --export <zip>');
if (exportFile) {
  try {
    const keyFile = option('--public-key');
    const expectFingerprint = option('--expect-fingerprint');
    const result = await verifyExport(exportFile, { publicKeyPem: keyFile ? readFileSync(keyFile, 'utf8') : undefined, expectFingerprint });
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    // Warnings do not fail the verification (the export is authentic and whole) but are never silent.
    for (const warning of result.warnings) process.stderr.write(`custos evidence:verify: WARNING: ${warning}\n`);
    if (!result.ok) {
      process.stderr.write(`custos evidence:verify: NOT verified:\n${result.problems.map((p) => `  - ${p}`).join('\n')}\n`);
      if (!keyFile && !expectFingerprint) process.stderr.write('  usage: npm run evidence:verify -- --export <zip> --public-key <pem from GET /v1/evidence/public-key> | --expect-fingerprint <key_id>\n');
    }
    process.exit(result.ok ? 0 : 1);
  } catch (error) {
    process.stderr.write(`custos evidence:verify: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
try {
  const config = loadConfig();
  // Reading state never creates it: an existing embedded database only (joined if Custos runs on it).
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, pgRuntimeDir: config.pgRuntimeDir, existingOnly: true });
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
  fail(error instanceof Error ? error.message || error.name : String(error));
}
