import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Knex } from 'knex';
import { verifyAuditChain } from '../audit/chain.js';
import { canonicalJson, GENESIS, verifyChain } from '../evidence/chain.js';
import { signBytes, verifyBytes, type SigningKey } from '../evidence/signing.js';

/**
 * Checkpoints of the audit and evidence chain heads, signed with the Ed25519 signing key and kept
 * outside the database (the evidence bucket, under object lock where the bucket has it, or a
 * directory). Whoever can rewrite the database (its owner) can rebuild a chain so that it verifies;
 * they cannot make the rebuilt chain pass through the heads checkpointed before the edit.
 */

export interface Heads {
  audit: { last_id: number; hash: string };
  evidence: { last_seq: number; hash: string };
}

export interface Checkpoint extends Heads {
  at: string;
  key_id: string;
}

/** Where checkpoints are kept: each is written once under a name that sorts by time. */
export interface CheckpointStore {
  describe(): string;
  write(name: string, body: Buffer): Promise<void>;
  /** The newest checkpoint, or undefined when there is none. */
  latest(): Promise<Buffer | undefined>;
}

export function directoryStore(dir: string): CheckpointStore {
  return {
    describe: () => `file:${dir}`,
    async write(name, body) {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      // wx: never overwrite an earlier checkpoint.
      await fs.writeFile(path.join(dir, name), body, { mode: 0o400, flag: 'wx' });
    },
    async latest() {
      const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
      return names.length ? fs.readFile(path.join(dir, names.at(-1)!)) : undefined;
    },
  };
}

export const CHECKPOINT_PREFIX = 'checkpoints/';

export function s3Store(options: { bucket: string; region?: string; endpoint?: string; maxAttempts?: number }): CheckpointStore {
  const client = new S3Client({ region: options.region ?? 'us-east-1', ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}), maxAttempts: options.maxAttempts ?? 5 });
  return {
    describe: () => `s3://${options.bucket}/${CHECKPOINT_PREFIX}`,
    async write(name, body) {
      // The bucket's object lock default retention (where configured) applies; a checksum is required with it.
      await client.send(
        new PutObjectCommand({
          Bucket: options.bucket,
          Key: CHECKPOINT_PREFIX + name,
          Body: body,
          ContentType: 'application/json',
          ChecksumAlgorithm: 'SHA256',
          ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
          ServerSideEncryption: 'aws:kms',
        }),
      );
    },
    async latest() {
      let newest: string | undefined;
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: options.bucket, Prefix: CHECKPOINT_PREFIX, ContinuationToken: token }));
        for (const object of page.Contents ?? []) if (object.Key && (!newest || object.Key > newest)) newest = object.Key;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      if (!newest) return undefined;
      const object = await client.send(new GetObjectCommand({ Bucket: options.bucket, Key: newest }));
      return Buffer.from(await object.Body!.transformToByteArray());
    },
  };
}

/** The heads of both chains now, as stored (not re-verified: verification compares them later). */
export async function currentHeads(db: Knex): Promise<Heads> {
  const audit = await db('audit_log').select('id', 'hash').orderBy('id', 'desc').first();
  const evidence = await db('evidence_items').select('seq', 'hash').orderBy('seq', 'desc').first();
  return {
    audit: { last_id: audit ? Number(audit.id) : 0, hash: audit?.hash ?? GENESIS },
    evidence: { last_seq: evidence ? Number(evidence.seq) : 0, hash: evidence?.hash ?? GENESIS },
  };
}

/** Writes a signed checkpoint of the current heads: `{ checkpoint, signature }` (base64 Ed25519 over its canonical JSON). */
export async function writeCheckpoint(db: Knex, store: CheckpointStore, key: SigningKey, now = new Date()): Promise<Checkpoint> {
  const checkpoint: Checkpoint = { at: now.toISOString(), key_id: key.keyId, ...(await currentHeads(db)) };
  const signature = signBytes(key, Buffer.from(canonicalJson(checkpoint))).toString('base64');
  const name = `${checkpoint.at.replace(/[:.]/g, '-')}-${checkpoint.audit.hash.slice(0, 8)}.json`;
  await store.write(name, Buffer.from(JSON.stringify({ checkpoint, signature }, null, 2)));
  return checkpoint;
}

export interface IntegrityReport {
  /** ok: both chains intact and passing through the last checkpoint; broken: they are not; not_tested: no checkpoint to compare with. */
  status: 'ok' | 'broken' | 'not_tested';
  audit: Awaited<ReturnType<typeof verifyAuditChain>>;
  evidence: Awaited<ReturnType<typeof verifyChain>>;
  checkpoint: (Checkpoint & { store: string }) | null;
  problems: string[];
}

/** The hash a chain has at a position, or undefined when the position no longer exists. */
async function hashAt(db: Knex, table: 'audit_log' | 'evidence_items', column: 'id' | 'seq', position: number): Promise<string | undefined> {
  if (position === 0) return GENESIS;
  return (await db(table).where(column, position).first('hash'))?.hash;
}

/**
 * Verifies both chains and compares them with the newest checkpoint, whose signature must verify
 * with the signing key's public key: the checkpointed heads must still be in the chains, at the
 * same positions. A database edited and re-hashed after the checkpoint fails here.
 */
export async function verifyIntegrity(db: Knex, store: CheckpointStore, publicKeyPem: string): Promise<IntegrityReport> {
  const [audit, evidence] = [await verifyAuditChain(db), await verifyChain(db)];
  const problems: string[] = [];
  if (!audit.ok) problems.push(`audit log: row ${audit.first_break!.id}: ${audit.first_break!.problem}`);
  if (!evidence.ok) problems.push(`evidence chain: item ${evidence.first_break!.seq}: ${evidence.first_break!.problem}`);
  const raw = await store.latest();
  if (!raw) return { status: problems.length ? 'broken' : 'not_tested', audit, evidence, checkpoint: null, problems: [...problems, `no checkpoint in ${store.describe()} to compare with`] };

  let parsed: { checkpoint: Checkpoint; signature: string };
  try {
    parsed = JSON.parse(raw.toString('utf8'));
    if (!verifyBytes(publicKeyPem, Buffer.from(canonicalJson(parsed.checkpoint)), Buffer.from(parsed.signature, 'base64'))) throw new Error('bad signature');
  } catch {
    return { status: 'broken', audit, evidence, checkpoint: null, problems: [...problems, `the newest checkpoint in ${store.describe()} is not signed by the signing key: it was forged or damaged`] };
  }
  const { checkpoint } = parsed;
  const auditThere = await hashAt(db, 'audit_log', 'id', checkpoint.audit.last_id);
  if (auditThere !== checkpoint.audit.hash) {
    problems.push(`audit log: row ${checkpoint.audit.last_id} ${auditThere ? 'has another hash than' : 'is missing since'} the checkpoint of ${checkpoint.at}: the log was rewritten`);
  }
  const evidenceThere = await hashAt(db, 'evidence_items', 'seq', checkpoint.evidence.last_seq);
  if (evidenceThere !== checkpoint.evidence.hash) {
    problems.push(`evidence chain: item ${checkpoint.evidence.last_seq} ${evidenceThere ? 'has another hash than' : 'is missing since'} the checkpoint of ${checkpoint.at}: the chain was rewritten`);
  }
  return { status: problems.length ? 'broken' : 'ok', audit, evidence, checkpoint: { ...checkpoint, store: store.describe() }, problems };
}
