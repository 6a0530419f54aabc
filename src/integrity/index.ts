import path from 'node:path';
import type { Config } from '../config.js';
import { directoryStore, s3Store, type CheckpointStore } from './checkpoints.js';

export { writeCheckpoint, verifyIntegrity, directoryStore, s3Store, type CheckpointStore } from './checkpoints.js';
export { default } from './routes.js';

export const CHECKPOINT_QUEUE = 'integrity-checkpoint';

/** The evidence bucket when one is configured (under object lock where the bucket has it), else CUSTOS_CHECKPOINT_DIR or <data dir>/checkpoints. */
export function configuredCheckpointStore(config: Pick<Config, 'evidenceBucket' | 'awsRegion' | 'awsEndpointUrl' | 'awsMaxAttempts' | 'checkpointDir' | 'dataDir'>): CheckpointStore {
  if (config.evidenceBucket) return s3Store({ bucket: config.evidenceBucket, region: config.awsRegion, endpoint: config.awsEndpointUrl, maxAttempts: config.awsMaxAttempts });
  return directoryStore(config.checkpointDir ?? path.join(config.dataDir, 'checkpoints'));
}
