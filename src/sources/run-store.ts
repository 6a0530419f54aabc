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

export async function listRunItems(db: Knex, runId: string, filters: ItemFilters): Promise<Page<ItemRow & { hash: string }>> {
  // With its content hash: the evidence digests are of `kind|key|hash` lines, recomputable from this list.
  const query = db('run_items').select('kind', 'key', 'type', 'account', 'region', 'hash', 'data').where({ run_id: runId });
  for (const field of ['kind', 'type', 'account', 'region'] as const) if (filters[field]) query.where(field, filters[field]);
  return paginate<ItemRow & { hash: string } & Record<string, unknown>>(query, filters, [
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

/** Item references read per batch by `runDigests`. */
const DIGEST_BATCH = 10_000;

/** The SHA-256 of nothing: the digest of a slice the run holds no item of. */
export const EMPTY_SHA256 = createHash('sha256').digest('hex');

/**
 * A slice of a run's items: the resources of one type (`type`), or every item of another kind (`type`
 * ''), with how many and the SHA-256 of their lines `kind|key|hash` in key order. What an evaluation's
 * evidence says its rules checked; an auditor recomputes it from GET /v1/collections/:id/resources?kind=&type=.
 */
export interface SliceDigest {
  kind: string;
  type: string;
  items: number;
  items_sha256: string;
}

/** A slice's name: its kind and its type ('' unless a resource). */
export const sliceName = (kind: string, type: string): string => `${kind}\u0000${type}`;

/**
 * One pass over a run's items in digest order (kind, key), read through a cursor `batch` rows at a
 * time so the run's references are never all held at once: the digest of all of them (collection
 * evidence) and of each slice (evaluation evidence), slices in code-point order of kind and type.
 */
export async function runDigests(
  db: Knex | Knex.Transaction,
  runId: string,
  batch = DIGEST_BATCH,
): Promise<{ all: { items: number; counts: Record<string, number>; items_sha256: string }; slices: SliceDigest[]; counts: ItemCount[] }> {
  // A cursor lives in a transaction: the caller's, or one of its own.
  if (!db.isTransaction) return db.transaction((trx) => runDigests(trx, runId, batch));
  const all = new ItemsDigest();
  const slices = new Map<string, { kind: string; type: string; digest: ItemsDigest }>();
  const counts = new Map<string, ItemCount>();
  const cursor = `run_item_refs_${++cursors}`;
  // Every row is read: plan for all of them (a sort), not for the first few (an index scan's random reads).
  await db.raw('SET LOCAL cursor_tuple_fraction = 1');
  await db.raw(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT kind, type, key, hash, account, region FROM run_items WHERE run_id = ? ORDER BY kind, key`, [runId]);
  // Closed when done; on an error the transaction's end closes it.
  for (;;) {
    const { rows } = (await db.raw(`FETCH ${Math.max(1, Math.floor(batch))} FROM ${cursor}`)) as { rows: Array<RunItemRef & Pick<ItemCount, 'account' | 'region'>> };
    for (const item of rows) {
      const line = `${item.kind}|${item.key}|${item.hash}`;
      all.add(item, line);
      const place = `${item.kind}\u0000${item.type}\u0000${item.account}\u0000${item.region}`;
      const count = counts.get(place);
      if (count) count.items++;
      else counts.set(place, { kind: item.kind, type: item.type, account: item.account, region: item.region, items: 1 });
      const type = item.kind === 'resource' ? item.type : '';
      const name = sliceName(item.kind, type);
      let slice = slices.get(name);
      if (!slice) slices.set(name, (slice = { kind: item.kind, type, digest: new ItemsDigest() }));
      slice.digest.add(item, line);
    }
    if (rows.length < batch) break;
  }
  await db.raw(`CLOSE ${cursor}`);
  return {
    all: { items: all.size, ...all.result() },
    slices: [...slices.values()]
      .map(({ kind, type, digest }) => ({ kind, type, items: digest.size, items_sha256: digest.result().items_sha256 }))
      .sort((a, b) => (a.kind === b.kind ? (a.type < b.type ? -1 : 1) : a.kind < b.kind ? -1 : 1)),
    counts: [...counts.values()],
  };
}
let cursors = 0;

/** How many items a run holds of one kind and type in one account and region (migration 035). */
export interface ItemCount {
  kind: string;
  type: string;
  account: string;
  region: string;
  items: number;
}

/** Keeps a finished run's item counts (migration 035), in the transaction that finishes it. */
export async function storeItemCounts(trx: Knex.Transaction, runId: string, counts: ItemCount[]): Promise<void> {
  // A second writer (two evaluations of a run finished before 035, counting it at once) wrote the same.
  for (let i = 0; i < counts.length; i += 5_000) {
    await trx('run_item_counts').insert(counts.slice(i, i + 5_000).map((c) => ({ run_id: runId, ...c }))).onConflict(['run_id', 'kind', 'type', 'account', 'region']).ignore();
  }
}

/**
 * A finished run's item counts per kind, type, account and region, kept when it finished; for a
 * run finished before they were kept (migration 035), counted now and kept (a run of no items is
 * counted each time: nothing to keep, and nothing to count).
 */
export async function runItemCounts(db: Knex | Knex.Transaction, runId: string): Promise<ItemCount[]> {
  const stored: ItemCount[] = await db('run_item_counts').select('kind', 'type', 'account', 'region', 'items').where({ run_id: runId });
  if (stored.length > 0) return stored;
  const counted: ItemCount[] = (
    await db('run_items').select('kind', 'type', 'account', 'region').count('* as items').where({ run_id: runId }).groupBy('kind', 'type', 'account', 'region')
  ).map((r) => ({ ...(r as unknown as ItemCount), items: Number((r as { items: unknown }).items) }));
  // All of them or none: kept counts are taken as the run's whole count, so a part of them must never be.
  await (db.isTransaction ? storeItemCounts(db as Knex.Transaction, runId, counted) : db.transaction((trx) => storeItemCounts(trx, runId, counted)));
  return counted;
}

/** Keeps a finished run's slice digests (migration 032), in the transaction that finishes it. */
export async function storeSliceDigests(trx: Knex.Transaction, runId: string, slices: SliceDigest[]): Promise<void> {
  // A run made its digests once; a second writer (two evaluations of a run finished before 032) wrote the same.
  if (slices.length > 0) await trx('run_slice_digests').insert(slices.map((s) => ({ run_id: runId, ...s }))).onConflict(['run_id', 'kind', 'type']).ignore();
}

/**
 * A finished run's slice digests, kept when it finished; for a run finished before they were kept
 * (migration 032), made now from its items and kept.
 */
export async function runSliceDigests(trx: Knex.Transaction, runId: string): Promise<SliceDigest[]> {
  // In the order runDigests gives (code points, not the database's collation).
  const stored: SliceDigest[] = await trx('run_slice_digests').select('kind', 'type', 'items', 'items_sha256').where({ run_id: runId }).orderByRaw('kind COLLATE "C", type COLLATE "C"');
  if (stored.length > 0) return stored;
  const { slices } = await runDigests(trx, runId);
  await storeSliceDigests(trx, runId, slices);
  return slices;
}

/**
 * Counts per resource type (other kinds by kind) and the SHA-256 of the lines `kind|key|hash`, in the
 * order added, joined by newlines: an auditor recomputes it from GET /v1/collections/:id/resources.
 * Built item by item, so a digest need not hold its items (runDigests streams them).
 */
class ItemsDigest {
  private readonly counts: Record<string, number> = {};
  private readonly hash = createHash('sha256');
  private added = 0;
  // Lines waiting to be hashed: one update per batch rather than one per item (flush).
  private pending = '';

  /** The item's line is `kind|key|hash`, made once by the caller for every digest it goes into. */
  add(item: Pick<RunItemRef, 'kind' | 'type'>, line: string): void {
    const name = item.kind === 'resource' ? item.type : item.kind;
    this.counts[name] = (this.counts[name] ?? 0) + 1;
    this.pending += this.added === 0 ? line : `\n${line}`;
    this.added++;
    if (this.pending.length > 1 << 20) this.flush();
  }

  get size(): number {
    return this.added;
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

