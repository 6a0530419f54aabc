import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { paginate, type Page, type PageParams } from '../db/pagination.js';
import type { NormalisedFinding, NormalisedPermission, NormalisedResource, SourceSetting } from './types.js';

export type ItemKind = 'resource' | 'finding' | 'permission' | 'setting';

/** What a run saw, in the normalised shape policies read. */
export interface RunState {
  resources: NormalisedResource[];
  findings: NormalisedFinding[];
  permissions: NormalisedPermission[];
  settings: SourceSetting[];
}

interface ItemRow {
  kind: ItemKind;
  key: string;
  type: string;
  account: string;
  region: string;
  data: unknown;
}

const digest = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);

/** Stable identities, so the same thing seen by two runs has the same key and can be diffed. */
function toItems(state: RunState): ItemRow[] {
  const rows = new Map<string, ItemRow>();
  const add = (row: ItemRow) => rows.set(`${row.kind}\u0000${row.key}`, row);
  for (const r of state.resources) add({ kind: 'resource', key: `${r.type}|${r.account}|${r.region}|${r.id}`, type: r.type, account: r.account, region: r.region, data: r });
  for (const f of state.findings) add({ kind: 'finding', key: f.id, type: f.severity, account: f.account, region: f.region, data: f });
  for (const p of state.permissions) {
    add({ kind: 'permission', key: `${p.principal}|${p.account}|${p.region}|${digest(p.resource)}`, type: p.resource.kind, account: p.account, region: p.region, data: p });
  }
  for (const s of state.settings) add({ kind: 'setting', key: `${s.key}|${s.account}|${s.region}`, type: s.key, account: s.account, region: s.region, data: s });
  return [...rows.values()];
}

const CHUNK = 5_000;

/**
 * A run's items as the JSON parameters of their INSERT statements, 5,000 rows each. Built where
 * the state is (a snapshot import builds them in its worker thread, so the event loop only passes
 * strings on), counted by kind.
 */
export function itemChunks(state: RunState): { chunks: string[]; counts: Record<ItemKind, number> } {
  const items = toItems(state);
  const chunks: string[] = [];
  for (let i = 0; i < items.length; i += CHUNK) chunks.push(JSON.stringify(items.slice(i, i + CHUNK)));
  const counts = { resource: 0, finding: 0, permission: 0, setting: 0 };
  for (const item of items) counts[item.kind]++;
  return { chunks, counts };
}

/**
 * Writes a run's items, one statement per chunk of `itemChunks`: the JSON parameter expanded by
 * jsonb_to_recordset, hashed in the database (the hash makes diffs a join on key and hash; the
 * SHA-256 of the normalised state tells an incremental evaluation which items are unchanged).
 * Idempotent: a retried job replaces what an interrupted attempt wrote.
 */
export async function storeItemChunks(trx: Knex.Transaction, runId: string, chunks: string[]): Promise<void> {
  await trx('run_items').where({ run_id: runId }).delete();
  for (const chunk of chunks) {
    await trx.raw(
      `INSERT INTO run_items (run_id, kind, key, type, account, region, data, hash, state_sha256)
       SELECT ?, x.kind, x.key, x.type, x.account, x.region, x.data, md5(x.data::text), sha256(convert_to(x.data::text, 'UTF8'))
       FROM jsonb_to_recordset(?::jsonb) AS x(kind text, key text, type text, account text, region text, data jsonb)`,
      [runId, chunk],
    );
  }
}

/** Writes a run's items (see storeItemChunks); returns their counts by kind. */
export async function storeRunState(trx: Knex.Transaction, runId: string, state: RunState): Promise<Record<ItemKind, number>> {
  const { chunks, counts } = itemChunks(state);
  await storeItemChunks(trx, runId, chunks);
  return counts;
}

/** What a run saw; only the given kinds of item, when `kinds` names some (the rest stay empty). */
export async function readRunState(db: Knex, runId: string, kinds?: ItemKind[]): Promise<RunState> {
  const state: RunState = { resources: [], findings: [], permissions: [], settings: [] };
  const query = db('run_items').select('kind', 'data').where({ run_id: runId }).orderBy(['kind', 'key']);
  if (kinds) query.whereIn('kind', kinds);
  const rows: Array<{ kind: ItemKind; data: never }> = await query;
  for (const { kind, data } of rows) {
    if (kind === 'resource') state.resources.push(data);
    else if (kind === 'finding') state.findings.push(data);
    else if (kind === 'permission') state.permissions.push(data);
    else state.settings.push(data);
  }
  return state;
}

export interface ItemFilters extends PageParams {
  kind?: ItemKind;
  type?: string;
  account?: string;
  region?: string;
}

export async function listRunItems(db: Knex, runId: string, filters: ItemFilters): Promise<Page<ItemRow>> {
  const query = db('run_items').select('kind', 'key', 'type', 'account', 'region', 'data').where({ run_id: runId });
  for (const field of ['kind', 'type', 'account', 'region'] as const) if (filters[field]) query.where(field, filters[field]);
  return paginate<ItemRow & Record<string, unknown>>(query, filters, [
    { sql: 'kind', field: 'kind' },
    { sql: 'key', field: 'key' },
  ]);
}

/** What changed from `against` to `runId`: items added, removed, or whose content changed. */
export async function diffRuns(db: Knex, runId: string, against: string, filters: PageParams & { kind?: ItemKind; type?: string }) {
  const side = (id: string) => {
    const q = db('run_items').select('kind', 'key', 'type', 'hash').where({ run_id: id });
    if (filters.kind) q.where({ kind: filters.kind });
    if (filters.type) q.where({ type: filters.type });
    return q;
  };
  const query = db
    .with('cur', side(runId))
    .with('old', side(against))
    .select(
      db.raw('coalesce(cur.kind, old.kind) AS kind'),
      db.raw('coalesce(cur.key, old.key) AS key'),
      db.raw('coalesce(cur.type, old.type) AS type'),
      db.raw(`CASE WHEN old.key IS NULL THEN 'added' WHEN cur.key IS NULL THEN 'removed' ELSE 'changed' END AS change`),
    )
    .from('cur')
    .fullOuterJoin('old', function () {
      this.on('cur.kind', '=', 'old.kind').andOn('cur.key', '=', 'old.key');
    })
    .whereRaw('cur.hash IS DISTINCT FROM old.hash');
  const wrapped = db.select('*').from(query.as('d'));
  return paginate<{ kind: string; key: string; type: string; change: string }>(wrapped, filters, [
    { sql: 'kind', field: 'kind' },
    { sql: 'key', field: 'key' },
  ]);
}

/** A stored run item's identity and content hash: what evidence digests are made of. */
export interface RunItemRef {
  kind: string;
  type: string;
  key: string;
  hash: string;
}

/** Every item of a run, ordered by kind and key (the order evidence digests use). */
export function runItemRefs(db: Knex | Knex.Transaction, runId: string): Promise<RunItemRef[]> {
  return db('run_items').select('kind', 'type', 'key', 'hash').where({ run_id: runId }).orderBy(['kind', 'key']);
}

/** Item references read per batch by `runItemsDigests`. */
const DIGEST_BATCH = 10_000;

/**
 * `runItemsDigest` of several selections of a run's items at once, each a predicate over an item's
 * kind and type, in one pass over the run's items in digest order (kind, key): one query, read
 * through a cursor `batch` rows at a time, so the run's references are never all held at once. The
 * same digests as `runItemsDigest(items.filter(...))` of `runItemRefs`.
 */
export async function runItemsDigests(
  db: Knex | Knex.Transaction,
  runId: string,
  selections: Array<(item: { kind: string; type: string }) => boolean>,
  batch = DIGEST_BATCH,
): Promise<Array<{ counts: Record<string, number>; items_sha256: string }>> {
  // A cursor lives in a transaction: the caller's, or one of its own.
  if (!db.isTransaction) return db.transaction((trx) => runItemsDigests(trx, runId, selections, batch));
  const digests = selections.map(() => new ItemsDigest());
  // Which selections take an item of this kind and type, asked once per kind and type.
  const takers = new Map<string, number[]>();
  const cursor = `run_item_refs_${++cursors}`;
  // Every row is read: plan for all of them (a sort), not for the first few (an index scan's random reads).
  await db.raw('SET LOCAL cursor_tuple_fraction = 1');
  await db.raw(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT kind, type, key, hash FROM run_items WHERE run_id = ? ORDER BY kind, key`, [runId]);
  // Closed when done; on an error the transaction's end closes it.
  for (;;) {
    const { rows } = (await db.raw(`FETCH ${Math.max(1, Math.floor(batch))} FROM ${cursor}`)) as { rows: RunItemRef[] };
    for (const item of rows) {
      const slice = `${item.kind}\u0000${item.type}`;
      let indices = takers.get(slice);
      if (!indices) takers.set(slice, (indices = selections.flatMap((take, n) => (take(item) ? [n] : []))));
      if (indices.length === 0) continue;
      const line = `${item.kind}|${item.key}|${item.hash}`;
      for (const n of indices) digests[n]!.add(item, line);
    }
    if (rows.length < batch) break;
  }
  await db.raw(`CLOSE ${cursor}`);
  return digests.map((d) => d.result());
}
let cursors = 0;

/**
 * Counts per resource type (other kinds by kind) and the SHA-256 of the lines `kind|key|hash`, in the
 * order added, joined by newlines: an auditor recomputes it from GET /v1/collections/:id/resources.
 * Built item by item, so a digest need not hold its items (runItemsDigests streams them).
 */
class ItemsDigest {
  private readonly counts: Record<string, number> = {};
  private readonly hash = createHash('sha256');
  private first = true;
  // Lines waiting to be hashed: one update per batch rather than one per item (flush).
  private pending = '';

  add(item: Pick<RunItemRef, 'kind' | 'type' | 'key' | 'hash'>, line = `${item.kind}|${item.key}|${item.hash}`): void {
    const name = item.kind === 'resource' ? item.type : item.kind;
    this.counts[name] = (this.counts[name] ?? 0) + 1;
    this.pending += this.first ? line : `\n${line}`;
    this.first = false;
    if (this.pending.length > 1 << 20) this.flush();
  }

  flush(): void {
    if (this.pending) this.hash.update(this.pending, 'utf8');
    this.pending = '';
  }

  result(): { counts: Record<string, number>; items_sha256: string } {
    this.flush();
    return { counts: this.counts, items_sha256: this.hash.digest('hex') };
  }
}

/** The digest (ItemsDigest) of these items, in the order given. */
export function runItemsDigest(items: RunItemRef[]): { counts: Record<string, number>; items_sha256: string } {
  const digest = new ItemsDigest();
  for (const item of items) digest.add(item);
  return digest.result();
}
