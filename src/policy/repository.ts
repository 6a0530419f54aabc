import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { paginate, type Page, type PageParams } from '../db/pagination.js';
import type { Inspection, RuleMetadata } from './wasm.js';

export interface BundleRecord {
  id: string;
  revision: string;
  sha256: string;
  size_bytes: number;
  entrypoints: string[];
  rules: RuleMetadata[];
  uploaded_by: string;
  uploaded_at: string;
  active: boolean;
  activated_at: string | null;
  activated_by: string | null;
}

const RECORD_COLUMNS = ['id', 'revision', 'sha256', 'size_bytes', 'entrypoints', 'rules', 'uploaded_by', 'uploaded_at', 'active', 'activated_at', 'activated_by'];

export async function insertBundle(
  trx: Knex.Transaction,
  values: { bundle: Pick<Inspection, 'manifest' | 'sha256'>; archive: Buffer; entrypoints: string[]; rules: RuleMetadata[]; uploadedBy: string },
): Promise<BundleRecord> {
  const [record] = await trx('policy_bundles')
    .insert({
      id: uuidv7(),
      revision: values.bundle.manifest.revision,
      sha256: values.bundle.sha256,
      archive: values.archive,
      size_bytes: values.archive.length,
      entrypoints: JSON.stringify(values.entrypoints),
      rules: JSON.stringify(values.rules),
      uploaded_by: values.uploadedBy,
    })
    .returning(RECORD_COLUMNS);
  return record;
}

export async function findBundleBySha(db: Knex, sha256: string): Promise<BundleRecord | undefined> {
  return db('policy_bundles').select(RECORD_COLUMNS).where({ sha256 }).first();
}

export async function getBundle(db: Knex, id: string, forUpdate = false): Promise<BundleRecord | undefined> {
  const query = db('policy_bundles').select(RECORD_COLUMNS).where({ id }).first();
  return forUpdate ? query.forUpdate() : query;
}

export async function getArchive(db: Knex, id: string): Promise<Buffer | undefined> {
  return (await db('policy_bundles').select('archive').where({ id }).first())?.archive;
}

export async function activeBundleId(db: Knex): Promise<string | undefined> {
  return (await db('policy_bundles').select('id').where({ active: true }).first())?.id;
}

export async function listBundles(db: Knex, params: PageParams & { revision?: string; active?: boolean }): Promise<Page<BundleRecord>> {
  const query = db('policy_bundles').select(RECORD_COLUMNS);
  if (params.revision !== undefined) query.where({ revision: params.revision });
  if (params.active !== undefined) query.where({ active: params.active });
  return paginate<BundleRecord & Record<string, unknown>>(query, params, undefined, 'desc');
}

/** Makes one bundle the active one; the partial unique index guarantees there is only ever one. */
export async function activateBundle(trx: Knex.Transaction, id: string, by: string): Promise<BundleRecord> {
  await trx('policy_bundles').update({ active: false }).where({ active: true }).whereNot({ id });
  const [record] = await trx('policy_bundles')
    .update({ active: true, activated_at: trx.fn.now(), activated_by: by })
    .where({ id })
    .returning(RECORD_COLUMNS);
  return record;
}

export interface DecisionRecord {
  id: string;
  at: string;
  entrypoint: string;
  input: unknown;
  result: unknown;
  defined: boolean;
  error: string | null;
  bundle_id: string | null;
  bundle_revision: string | null;
  actor: string;
  actor_key_id: string | null;
  role: string;
  request_id: string | null;
  duration_ms: number;
}

export async function insertDecision(db: Knex, decision: Omit<DecisionRecord, 'at'>): Promise<void> {
  await db('decision_log').insert({
    ...decision,
    input: JSON.stringify(decision.input),
    result: decision.result === undefined ? null : JSON.stringify(decision.result),
  });
}

export async function getDecision(db: Knex, id: string): Promise<DecisionRecord | undefined> {
  return db('decision_log').where({ id }).first();
}

export async function listDecisions(
  db: Knex,
  params: PageParams & { entrypoint?: string; bundle_revision?: string; actor?: string; from?: string; to?: string },
): Promise<Page<DecisionRecord>> {
  const query = db('decision_log').select('*');
  for (const field of ['entrypoint', 'bundle_revision', 'actor'] as const) {
    if (params[field] !== undefined) query.where(field, params[field]);
  }
  if (params.from) query.where('at', '>=', params.from);
  if (params.to) query.where('at', '<', params.to);
  return paginate<DecisionRecord & Record<string, unknown>>(query, params, undefined, 'desc');
}
