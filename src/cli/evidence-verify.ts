import { loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { verifyChain } from '../evidence/chain.js';
import { s3BodyStore, useBodyStore } from '../evidence/body-store.js';

/** `npm run evidence:verify`: re-checks the evidence chain; exit 1 and the first break if it is broken. */
try {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    // Bodies kept in S3 are read back from there and checked against the chain.
    if (config.evidenceBucket) {
      useBodyStore(database.knex, s3BodyStore({ bucket: config.evidenceBucket, region: config.awsRegion, endpoint: config.awsEndpointUrl, maxAttempts: config.awsMaxAttempts }));
    }
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
