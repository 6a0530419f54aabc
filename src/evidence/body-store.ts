import { GetObjectCommand, GetObjectLockConfigurationCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { HttpProblem } from '../http/problem.js';

/**
 * Where evidence bodies live. PostgreSQL by default (the `body` column); with CUSTOS_EVIDENCE_BUCKET
 * in S3, content-addressed by the body's SHA-256 and encrypted with SSE-KMS, and `body` is NULL.
 * The chain (hashes, links) always stays in PostgreSQL, so verify checks S3 bodies against it.
 */
export interface BodyStore {
  kind: 'postgres' | 's3';
  /** Stores bodies before their rows are inserted; content-addressed, so a rolled-back write leaves only a harmless duplicate. */
  put(bodies: Array<{ sha256: string; json: string }>): Promise<void>;
  /** Bodies by SHA-256 (parsed JSON); a missing object is absent from the map. */
  get(sha256s: string[]): Promise<Map<string, unknown>>;
  /** What the store knows of itself, for logs and readiness. */
  describe(): Record<string, unknown>;
}

export const postgresBodies: BodyStore = {
  kind: 'postgres',
  put: async () => {},
  get: async () => new Map(),
  describe: () => ({ store: 'postgres' }),
};

export const objectKey = (sha256: string) => `evidence/sha256/${sha256.slice(0, 2)}/${sha256}.json`;

export interface S3BodyStoreOptions {
  bucket: string;
  kmsKeyId?: string;
  region?: string;
  endpoint?: string;
  maxAttempts?: number;
}

export function s3BodyStore(options: S3BodyStoreOptions): BodyStore & { objectLock(): Promise<boolean> } {
  const client = new S3Client({
    region: options.region ?? 'us-east-1',
    ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
    maxAttempts: options.maxAttempts ?? 5,
  });
  let lock: boolean | undefined;
  const checksum = (sha: string) => Buffer.from(sha, 'hex').toString('base64');
  const putOne = (b: { sha256: string; json: string }) =>
    client.send(
      new PutObjectCommand({
        Bucket: options.bucket,
        Key: objectKey(b.sha256),
        Body: b.json,
        ContentType: 'application/json',
        // S3 checks the upload against the hash the chain records (and object lock requires a checksum).
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: checksum(b.sha256),
        ServerSideEncryption: 'aws:kms',
        ...(options.kmsKeyId ? { SSEKMSKeyId: options.kmsKeyId } : {}),
      }),
    );
  const store = {
    kind: 's3' as const,
    /** Whether the bucket has object lock on: then its default retention protects every body. */
    async objectLock(): Promise<boolean> {
      if (lock === undefined) {
        try {
          const answer = await client.send(new GetObjectLockConfigurationCommand({ Bucket: options.bucket }));
          lock = answer.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
        } catch {
          lock = false;
        }
      }
      return lock;
    },
    async put(bodies: Array<{ sha256: string; json: string }>) {
      try {
        for (let i = 0; i < bodies.length; i += 16) await Promise.all(bodies.slice(i, i + 16).map(putOne));
      } catch (error) {
        // Fail closed: evidence that cannot be stored is not written, and neither is what it records.
        throw new HttpProblem(503, 'evidence-store-unavailable', `evidence bodies could not be stored in s3://${options.bucket}: ${(error as Error).name}`);
      }
    },
    async get(sha256s: string[]) {
      const found = new Map<string, unknown>();
      const unique = [...new Set(sha256s)];
      for (let i = 0; i < unique.length; i += 16) {
        await Promise.all(
          unique.slice(i, i + 16).map(async (sha) => {
            try {
              const object = await client.send(new GetObjectCommand({ Bucket: options.bucket, Key: objectKey(sha) }));
              found.set(sha, JSON.parse(await object.Body!.transformToString('utf8')));
            } catch (error) {
              if ((error as { name?: string }).name !== 'NoSuchKey') throw error;
            }
          }),
        );
      }
      return found;
    },
    describe: () => ({ store: 's3', bucket: options.bucket, kms_key: options.kmsKeyId ?? 'bucket default', object_lock: lock ?? 'unknown' }),
  };
  return store;
}

/** The S3 store CUSTOS_EVIDENCE_BUCKET configures, or undefined: bodies then stay in PostgreSQL. */
export function configuredBodyStore(config: Pick<Config, 'evidenceBucket' | 'evidenceKmsKeyId' | 'awsRegion' | 'awsEndpointUrl' | 'awsMaxAttempts'>) {
  if (!config.evidenceBucket) return undefined;
  return s3BodyStore({ bucket: config.evidenceBucket, kmsKeyId: config.evidenceKmsKeyId, region: config.awsRegion, endpoint: config.awsEndpointUrl, maxAttempts: config.awsMaxAttempts });
}

// The store belongs to a database: a transaction's client shares its parent's config object, so
// appendEvidence and verify find the store from any knex handle without threading it through callers.
const stores = new WeakMap<object, BodyStore>();

export function useBodyStore(db: Knex, store: BodyStore): void {
  stores.set(db.client.config, store);
}

export function bodyStoreOf(db: Knex | Knex.Transaction): BodyStore {
  return stores.get(db.client.config) ?? postgresBodies;
}

/** Fills in `body` of rows whose body lives in S3; a body S3 no longer has stays null (verify reports it). */
export async function withBodies<T extends { body: unknown; body_store?: string; body_sha256: string }>(db: Knex | Knex.Transaction, rows: T[]): Promise<T[]> {
  const remote = rows.filter((r) => r.body_store === 's3');
  if (remote.length === 0) return rows;
  const bodies = await bodyStoreOf(db).get(remote.map((r) => r.body_sha256));
  return rows.map((r) => (r.body_store === 's3' ? { ...r, body: bodies.get(r.body_sha256) ?? null } : r));
}
