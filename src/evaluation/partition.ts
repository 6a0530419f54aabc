/**
 * A run's estate evaluated in parts, on every core, and incrementally (docs/ARCHITECTURE.md,
 * "Evaluating an estate in parts").
 *
 * Each rule declares in its `# METADATA` how its violations depend on the input (`custom.scope`):
 * - `resource`: each violation is about one item (a resource or a Security Hub finding, reported on
 *   that item, of one of the rule's resource_types) and depends on it alone plus the shared parts of
 *   the input it `reads` (now, catalog, coverage, lf_tag_assignments): any split of the items gives
 *   the same violations. Items are evaluated in parts of PART_ITEMS.
 * - `account`: depends on the items of one account of the types the rule lists in `item_types`
 *   (every item when some account rule does not say): evaluated over groups of whole accounts, each
 *   group's input restricted to its accounts (those items and the account-keyed shared parts).
 * - `catalog`: depends on the shared parts alone: evaluated once, with no items.
 * - `global`: evaluated once over the whole input.
 * The union equals one evaluation of the whole input. What the parts report is checked against
 * these promises (a resource violation on an item of its part and of the rule's types, an account
 * violation in an account of its group); a bundle that breaks them is evaluated whole instead.
 *
 * Incremental: when the previous evaluation used the same bundle revision, the violations of
 * `resource` rules on items whose normalised state is unchanged (run_items.state_sha256) are taken
 * from it for every rule whose `reads` are unchanged too (same catalog sha256, and so on: a rule
 * reading `now` is always evaluated afresh); only changed items are evaluated for them, and every
 * item of a type some other resource rule judges afresh. The reused verdicts are carried over by
 * the caller in the database (`reuseFindings`). Other scopes are always evaluated afresh.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { SCOPED_VIOLATIONS } from '../policy/entrypoints.js';
import type { PolicyEngine } from '../policy/engine.js';
import type { PolicyInput, Violation } from '../policy/input.js';
import { FINDING_TYPE, itemSlice, PERMISSION_TYPE } from '../sources/coverage.js';
import { runItemCounts } from '../sources/run-store.js';
import { pendingRow, standingFindings, type Reuse } from './findings-repository.js';
import { holdsAt } from './time-bound.js';

/**
 * Items per part for resource rules: the Wasm allocator slows as its heap grows (2,000 items: ~3×
 * faster per item than 8,000), and a thread's Wasm memory never shrinks below its largest part
 * (1,000 instead of 2,000: peak RSS of bench:evaluate about 90 MiB lower).
 */
const PART_ITEMS = 1_000;
/** Items read per query for the resource rules' parts: fewer, larger reads cost PostgreSQL less CPU than one per part of 1,000. */
const READ_ITEMS = 4_000;
/** Items per group of whole accounts for account rules (an account larger than this is a group alone): small groups, small Wasm heaps. */
const GROUP_ITEMS = 2_000;
/** An incremental evaluation reuses verdicts only while at most a quarter of the run's items changed, or this many where that is fewer. */
const MIN_CHANGES = 1_000;
const ITEM_KINDS = ['resource', 'finding', 'permission'] as const;
type ItemKind = (typeof ITEM_KINDS)[number];

export type EvaluationMode = 'whole' | 'parts' | 'incremental';

export interface EstateResult {
  /** Incremental or not, the violations found (parts: only those that hold at the input's now). */
  violations: Violation[];
  /** Parts: the resource rules' violations that begin after the input's now, as pendingRow's rows (src/evaluation/time-bound.ts). */
  later?: string[];
  mode: EvaluationMode;
  /** Per shared part of the input (now, catalog, ...), the SHA-256 of its JSON: what the next evaluation compares to reuse verdicts. */
  inputSha256: Record<string, string>;
  /** Items evaluated with the resource rules, items whose verdicts were reused, violations reused, items evaluated with the account rules. */
  stats: { items: number; evaluated_items: number; reused_items: number; reused_violations: number; evaluated_account_items: number; parts: number };
  /** Why the estate was evaluated whole or in full, when it was. */
  why?: string;
  /** Incremental: the base's verdicts that stand (`violations` are then the fresh ones only). */
  reuse?: Reuse;
}

/** What a previous evaluation left to build on. */
export interface EvaluationBase {
  id: string;
  run_id: string;
  bundle_revision: string | null;
  input_sha256: Record<string, string> | null;
}

export interface Item {
  kind: ItemKind;
  /** The identity a violation on this item has: type|account|region|id. */
  match: string;
  account: string;
  text: string;
}

class BrokenPromise extends Error {}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The identity of the item a violation is about (a resource's run_items key; a finding's type, account, region and id). */
const violationMatch = (v: Violation) => `${v.resource.type}|${v.resource.account}|${v.resource.region}|${v.resource.id}`;

/**
 * What an evaluation in parts keeps for the next one, recorded beside its input hashes under this
 * key: a base that does not say it kept as much (one made by older code: before migration 033 no
 * pending violations of account rules were kept, before 029 none at all) lends no verdicts, since
 * carrying its verdicts over could miss a violation that begins later.
 */
export const KEPT = { key: 'kept', value: 'pending violations of resource and account rules' } as const;

/** The input's shared parts (everything but its items), each hashed: what `reads` names. */
export function sharedParts(shared: PolicyInput): Record<string, string> {
  const { resources: _r, findings: _f, lake_formation, ...rest } = shared as PolicyInput & Record<string, unknown>;
  const parts: Record<string, string> = {};
  for (const [key, value] of Object.entries(rest)) parts[key] = sha256(JSON.stringify(value ?? null));
  const { permissions: _p, ...lf } = lake_formation ?? { permissions: [] };
  for (const [key, value] of Object.entries(lf)) parts[key] = sha256(JSON.stringify(value ?? null));
  return parts;
}

/**
 * The shared input restricted to some accounts: Lake Formation tag assignments and coverage
 * (type → account → region) of those accounts only, so an account group reads like a run of them.
 */
function restrictToAccounts(shared: PolicyInput, accounts: Set<string>): PolicyInput {
  const restricted: PolicyInput = { ...shared };
  const lf = shared.lake_formation;
  if (lf?.lf_tag_assignments) restricted.lake_formation = { ...lf, lf_tag_assignments: lf.lf_tag_assignments.filter((a) => accounts.has(a.account)) };
  if (shared.coverage) {
    restricted.coverage = Object.fromEntries(
      Object.entries(shared.coverage).map(([type, byAccount]) => [type, Object.fromEntries(Object.entries(byAccount ?? {}).filter(([account]) => accounts.has(account)))]),
    );
  }
  return restricted;
}

/** The accounts the shared parts name (coverage, LF-tag assignments), so an account without items is still judged. */
function sharedAccounts(shared: PolicyInput): string[] {
  const accounts = new Set<string>();
  for (const a of shared.lake_formation?.lf_tag_assignments ?? []) accounts.add(a.account);
  for (const byAccount of Object.values(shared.coverage ?? {})) for (const a of Object.keys(byAccount ?? {})) accounts.add(a);
  return [...accounts];
}

/**
 * The input as JSON text: the shared parts with these items spliced in (their stored JSON, never
 * parsed here), written straight into one buffer: no joined or replaced string of the part's items,
 * which would be two more copies of them (large strings, old-generation garbage) per part.
 */
export function inputText(shared: PolicyInput, items: Array<Pick<Item, 'kind' | 'text'>>): Uint8Array {
  const lists: Record<ItemKind, string[]> = { resource: [], finding: [], permission: [] };
  for (const item of items) lists[item.kind].push(item.text);
  const mark = (kind: string) => JSON.stringify(`\u0000${kind}`);
  const skeleton = JSON.stringify({
    ...shared,
    resources: `\u0000resource`,
    findings: `\u0000finding`,
    lake_formation: { ...shared.lake_formation, permissions: `\u0000permission` },
  });
  // The skeleton cut at each kind's mark, in the order the marks appear: text, then a kind's list, ...
  const at = ITEM_KINDS.map((kind) => ({ kind, index: skeleton.indexOf(mark(kind)) })).sort((a, b) => a.index - b.index);
  const pieces: Array<{ text: string } | { kind: ItemKind }> = [];
  let from = 0;
  for (const { kind, index } of at) {
    pieces.push({ text: skeleton.slice(from, index) }, { kind });
    from = index + mark(kind).length;
  }
  pieces.push({ text: skeleton.slice(from) });
  let size = 0;
  for (const piece of pieces) {
    if ('text' in piece) size += Buffer.byteLength(piece.text);
    else for (const text of lists[piece.kind]) size += Buffer.byteLength(text) + 1;
  }
  const buffer = Buffer.allocUnsafeSlow(size + 2 * ITEM_KINDS.length);
  let offset = 0;
  for (const piece of pieces) {
    if ('text' in piece) {
      offset += buffer.write(piece.text, offset);
      continue;
    }
    offset += buffer.write('[', offset);
    const texts = lists[piece.kind];
    for (let i = 0; i < texts.length; i++) {
      if (i > 0) offset += buffer.write(',', offset);
      offset += buffer.write(texts[i]!, offset);
    }
    offset += buffer.write(']', offset);
  }
  return buffer.subarray(0, offset);
}

/** Runs tasks with at most `limit` at once, in order of creation. */
class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

/** The run items of some types (resource types, or the finding and permission types for those kinds), as a SQL condition on alias `c`. */
function ofTypes(db: Knex, types: Iterable<string>): Knex.Raw {
  const list = [...types];
  const resources = list.filter((t) => t !== FINDING_TYPE && t !== PERMISSION_TYPE);
  const terms: string[] = [];
  if (resources.length > 0) terms.push(`(c.kind = 'resource' AND c.type IN (${resources.map(() => '?').join(', ')}))`);
  if (list.includes(FINDING_TYPE)) terms.push(`c.kind = 'finding'`);
  if (list.includes(PERMISSION_TYPE)) terms.push(`c.kind = 'permission'`);
  return db.raw(terms.length > 0 ? `(${terms.join(' OR ')})` : 'false', resources);
}

/** An item as a part's input holds it (`text`: its stored JSON) with the identity violations about it have. */
function toItem(row: { kind: ItemKind; key: string; account: string; region: string; text: string }): Item {
  return {
    kind: row.kind,
    // A resource's key is type|account|region|id; a finding's, its id (violations name it as a Security Hub finding).
    match: row.kind === 'finding' ? `${FINDING_TYPE}|${row.account}|${row.region}|${row.key}` : row.kind === 'resource' ? row.key : `\u0000permission|${row.key}`,
    account: row.account,
    text: row.text,
  };
}

/**
 * Evaluates a run's items against the engine in parts (see the top of this file). `shared` is the
 * policy input without items; `base`, the previous evaluation to reuse verdicts from (undefined: a
 * full evaluation). Returns { whole } when the bundle cannot be evaluated in parts (no scoped
 * entrypoints) or broke a scope's promise: the caller then evaluates the whole input.
 *
 * Incremental, the violations returned are the fresh ones only (items changed, new, or of a type a
 * rule judges afresh) and `reuse` says which of the base's verdicts stand (the ids of its findings,
 * read while the changed items are judged): the caller carries them over (`reuseFindings`,
 * src/evaluation/findings-repository.ts).
 */
export async function evaluateInParts(
  db: Knex,
  engine: PolicyEngine,
  runId: string,
  shared: PolicyInput,
  base?: EvaluationBase,
  split: {
    partItems?: number;
    groupItems?: number;
    /**
     * Incremental: told, as soon as the base's standing verdicts are being read, the promise of their
     * finding ids (the same as the result's `reuse.findingIds`) and the rest of the result's `reuse`,
     * so the caller can carry them over while the changed items are judged (src/evaluation/evaluate.ts).
     */
    onStanding?: (findingIds: Promise<string[]>, reuse: Omit<Reuse, 'findingIds'>) => void;
  } = {},
  phases: Record<string, number> = {},
): Promise<EstateResult | { whole: string }> {
  const add = (name: string, since: number) => (phases[name] = (phases[name] ?? 0) + (performance.now() - since));
  const partItems = split.partItems ?? PART_ITEMS;
  const groupItems = split.groupItems ?? GROUP_ITEMS;
  if (!engine.partitionable) return { whole: 'the bundle has no per-scope entrypoints' };
  const rules = engine.rules();
  const byId = new Map(rules.map((r) => [r.id, r]));
  const inputSha256: Record<string, string> = { ...sharedParts(shared), [KEPT.key]: KEPT.value };
  const scopes = new Set(rules.map((r) => r.scope));
  if (scopes.has('global')) return { whole: `rules of scope global: ${rules.filter((r) => r.scope === 'global').map((r) => r.id).join(', ')}` };

  // Incremental: a rule whose every read is unchanged (same bundle revision) reuses the base's
  // verdicts: a resource rule's on unchanged items, an account rule's in accounts whose items of its
  // types are unchanged.
  const baseHashes = base !== undefined && base.bundle_revision === engine.revision && base.input_sha256?.[KEPT.key] === KEPT.value ? base.input_sha256 : undefined;
  const readsUnchanged = (rule: (typeof rules)[number]) =>
    baseHashes !== undefined && (rule.reads ?? Object.keys(inputSha256)).every((part) => inputSha256[part] !== undefined && baseHashes[part] === inputSha256[part]);
  const resourceRules = rules.filter((r) => r.scope === 'resource');
  const reusable = new Set(resourceRules.filter(readsUnchanged).map((r) => r.id));
  // The types the resource rules judge; of those, the ones a rule that cannot reuse judges: every item of them is evaluated.
  const judgedTypes = new Set(resourceRules.flatMap((r) => r.resource_types));
  const freshTypes = new Set(resourceRules.filter((r) => !reusable.has(r.id)).flatMap((r) => r.resource_types));
  const accountRules = rules.filter((r) => r.scope === 'account');
  const reusableAccount = accountRules.filter((r) => Array.isArray(r.item_types) && readsUnchanged(r));
  // Reads that depend on nothing judged here start at once, each on a connection of its own, so that
  // PostgreSQL answers them on the other core while this one goes on (each awaited where used; until
  // then a failure is held, and `settle` waits for them all before anything returns).
  const started: Array<Promise<unknown>> = [];
  const start = <T>(read: () => Promise<T>): Promise<T> => {
    const promise = read();
    promise.catch(() => {});
    started.push(promise);
    return promise;
  };
  const settle = () => Promise.allSettled(started);
  // The run's items, and of those the resource rules judge, how many (the reused ones are the judged not evaluated).
  const counting = start(() => countItems(db, runId, judgedTypes));
  let reuseOf =
    base && (reusable.size > 0 || reusableAccount.length > 0) ? { evaluationId: base.id, runId: base.run_id, rules: [...reusable].sort(), freshTypes: [...freshTypes].sort() } : undefined;
  let why: string | undefined;
  // Incremental: the items that differ from the base run's, of the types the rules read, in one
  // comparison of both runs. From them follow the resource rules' items to evaluate, the accounts
  // where the account rules' items changed, and which of the base's verdicts stand.
  const accountTypes = new Set(reusableAccount.flatMap((r) => r.item_types!));
  let t0 = performance.now();
  let changes: ItemChange[] = [];
  try {
    if (reuseOf) {
      // Bounded: where more than a quarter of the run's items changed, reuse saves little, and the
      // list of changes (held here and sent back with the queries that use it) would grow with the
      // run. The estate is then evaluated in full, as without a base.
      const most = Math.max(MIN_CHANGES, Math.floor((await counting).items / 4));
      const found = await changedItems(db, runId, reuseOf.runId, new Set([...judgedTypes, ...accountTypes]), most);
      if (found) changes = found;
      else {
        why = `more than ${most} items changed since the base run: evaluated in full`;
        reuseOf = undefined;
      }
    }
  } catch (error) {
    await settle();
    throw error;
  }
  add('select items', t0);
  const changedKeys = changes.map((c) => itemRef(c.kind, c.key));
  // The resource rules' items to evaluate: incremental, those changed and every item of a fresh type,
  // selected at once; in full, every one, selected once the account rules are judged (their keys
  // held meanwhile would add to the evaluation's peak memory).
  const selectAll = () => itemsOfTypes(db, runId, judgedTypes);
  const toEvaluate = judgedTypes.size > 0 && reuseOf && reusable.size > 0 ? start(() => changedOrFresh(db, runId, changes, judgedTypes, freshTypes)) : undefined;
  // The base's resource verdicts that stand (carried over by the caller: findings-repository.ts, reuseFindings).
  const standingResource = reuseOf && reusable.size > 0 ? start(() => standingFindings(db, { ...reuseOf, changed: changedKeys, accounts: { rules: [], fresh: [] } }, 'resource')) : undefined;
  const accountPlan = planAccounts(accountRules, new Set(reuseOf ? reusableAccount.map((r) => r.id) : []), changedAccountTypes(changes, accountTypes));
  const accounts = { rules: reusableAccount.map((r) => r.id).sort(), fresh: accountPlan.freshPairs };
  // The base's account verdicts that stand: those of the reusable account rules outside the accounts where their items changed.
  const standingAccount = reuseOf && reusableAccount.length > 0 ? start(() => standingFindings(db, { ...reuseOf, changed: changedKeys, accounts }, 'account')) : undefined;
  const reuse: Omit<Reuse, 'findingIds'> | undefined = reuseOf && { ...reuseOf, changed: changedKeys, accounts };
  const standing = reuse ? start(async () => [...new Set([...((await standingResource) ?? []), ...((await standingAccount) ?? [])])]) : undefined;
  if (standing && reuse) split.onStanding?.(standing, reuse);

  const violations: Violation[] = [];
  const internedRules = new Map<string, { json: string; rule: Violation['rule'] }>();
  const later: string[] = [];
  const keep = (v: Violation) => {
    // One that begins later is kept as a row of text at once, not as an object: there can be more of
    // them than of violations that hold. Only the resource and account rules' are kept (what reuse carries).
    if (!holdsAt(v, shared.now)) {
      const scope = byId.get(v.id)?.scope;
      if (scope === 'resource' || scope === 'account') later.push(pendingRow(v, scope));
      return;
    }
    // A time-bound violation leaves its rule's metadata out (lib.violation_after): the bundle's, by id.
    if (!v.rule) {
      const rule = byId.get(v.id);
      if (rule) v.rule = rule as unknown as Violation['rule'];
      violations.push(v);
      return;
    }
    // Every violation of a rule carries the same metadata: one object per rule, not one per violation.
    const json = JSON.stringify(v.rule);
    const known = internedRules.get(v.id);
    if (known && known.json === json) v.rule = known.rule;
    else if (!known) internedRules.set(v.id, { json, rule: v.rule });
    violations.push(v);
  };
  const stats = { items: 0, evaluated_items: 0, reused_items: 0, reused_violations: 0, evaluated_account_items: 0, parts: 0 };
  const limiter = new Limiter(engine.partThreads);
  const pending: Array<Promise<void>> = [];
  // `check`: the scope's promise (a violation outside it breaks the bundle's word); `wanted`: which
  // of the part's violations are judged afresh here (the others' verdicts are reused).
  const evaluate = (entrypoint: string, input: Uint8Array, check: (v: Violation) => boolean, wanted: (v: Violation) => boolean = () => true) => {
    stats.parts++;
    const task = limiter.run(async () => {
      const t = performance.now();
      const [answer] = await engine.evaluatePart([entrypoint], input);
      add(`thread ${entrypoint.split('/').pop()}`, t);
      for (const v of (answer!.result ?? []) as Violation[]) {
        if (!check(v)) throw new BrokenPromise(`${entrypoint}: rule ${v.id} reported ${violationMatch(v)} outside its part`);
        if (wanted(v)) keep(v);
      }
    });
    pending.push(task);
    // A failure is raised by Promise.all below; this keeps it from being unhandled meanwhile.
    task.catch(() => {});
    return task;
  };
  // Bounded memory: a few parts in flight while the next is read.
  const drain = async (most: number) => {
    const t = performance.now();
    if (pending.length > most) await Promise.all(pending.splice(0, pending.length - most));
    add('wait for threads', t);
  };

  try {
    // The catalog rules, once, with no items.
    evaluate(SCOPED_VIOLATIONS.catalog, inputText(shared, []), () => true);

    // Account rules over groups of whole accounts: the items of the types they read (every item when
    // one of them does not say), grouped by account, plus the accounts only the shared parts name.
    // Incremental, a reusable rule is judged only in the accounts where its items changed: only those
    // accounts' items of its types are read, and only its violations there are kept.
    if (accountPlan.everywhere !== null || accountPlan.changed.size > 0) {
      await evaluateAccounts(db, runId, shared, accountPlan, groupItems, async (accounts, items) => {
        stats.evaluated_account_items += items.length;
        evaluate(SCOPED_VIOLATIONS.account, inputText(restrictToAccounts(shared, accounts), items), (v) => accounts.has(v.resource.account), (v) => accountPlan.fresh(v.id, v.resource.account));
        await drain(2 * engine.partThreads);
      }, phases);
    }

    // Resource rules: parts of the items of the types they judge; incremental, only the items changed
    // since the base run (or new) and those of fresh types. Which ones is one query over the keys;
    // each part's items are then read by key, one part at a time.
    if (judgedTypes.size > 0) {
      let t = performance.now();
      const keys = await (toEvaluate ?? selectAll());
      add('select items', t);
      const readItems = Math.max(partItems, READ_ITEMS);
      for (const [kind, ofKind] of keys) {
        for (let i = 0; i < ofKind.length; i += readItems) {
          t = performance.now();
          const rows: ItemRow[] = await db('run_items')
            .select('kind', 'key', 'account', 'region', db.raw('data::text AS text'))
            .where({ run_id: runId, kind })
            .whereRaw('key = ANY(?)', [ofKind.slice(i, i + readItems)]);
          add('read items', t);
          for (let j = 0; j < rows.length; j += partItems) {
            const part = rows.slice(j, j + partItems).map(toItem);
            stats.evaluated_items += part.length;
            const matches = new Set(part.map((item) => item.match));
            // A resource rule's violation must be about an item of the part, of one of the rule's types.
            evaluate(SCOPED_VIOLATIONS.resource, inputText(shared, part), (v) => matches.has(violationMatch(v)) && (byId.get(v.id)?.resource_types ?? []).includes(v.resource.type));
            await drain(2 * engine.partThreads);
          }
        }
      }
    }
    await drain(0);
  } catch (error) {
    await settle();
    if (error instanceof BrokenPromise) return { whole: error.message };
    throw error;
  }

  const t = performance.now();
  const [counted, findingIds] = await Promise.all([counting, standing]).finally(settle);
  add('standing verdicts', t);
  stats.items = counted.items;
  stats.reused_items = counted.judged - stats.evaluated_items;
  if (!reuse) return { violations, later, mode: 'parts', inputSha256, stats, ...(why ? { why } : {}) };
  return { violations, later, mode: 'incremental', inputSha256, stats, reuse: { ...reuse, findingIds: findingIds ?? [] } };
}

/** How many items the run holds, and how many of them are of the types the resource rules judge (from its kept counts: run_item_counts). */
async function countItems(db: Knex, runId: string, judgedTypes: Set<string>): Promise<{ items: number; judged: number }> {
  let items = 0;
  let judged = 0;
  for (const c of await runItemCounts(db, runId)) {
    if (!(ITEM_KINDS as readonly string[]).includes(c.kind)) continue;
    items += c.items;
    if (isOfTypes(c.kind as ItemKind, c.type, judgedTypes)) judged += c.items;
  }
  return { items, judged };
}

/** Whether an item of this kind and type is one of `types`, as ofTypes selects in SQL. */
function isOfTypes(kind: ItemKind, type: string, types: ReadonlySet<string>): boolean {
  if (kind === 'resource') return type !== FINDING_TYPE && type !== PERMISSION_TYPE && types.has(type);
  return types.has(itemType(kind, type));
}

type ItemRow = { kind: ItemKind; type?: string; key: string; account: string; region: string; text: string };

/** An item's type as rules name it: a resource's own, else its kind's (findings, permissions). */
const itemType = (kind: ItemKind, type: string | undefined) => (kind === 'finding' ? FINDING_TYPE : kind === 'permission' ? PERMISSION_TYPE : type!);

/** The keys, by kind, of the run's items of `types`, in order. */
async function itemsOfTypes(db: Knex, runId: string, types: Set<string>): Promise<Map<ItemKind, string[]>> {
  const rows: Array<{ kind: ItemKind; key: string }> = await db('run_items as c').select('c.kind', 'c.key').where('c.run_id', runId).whereRaw(ofTypes(db, types)).orderBy(['c.kind', 'c.key']);
  return byKind(rows);
}

function byKind(rows: Iterable<{ kind: ItemKind; key: string }>): Map<ItemKind, string[]> {
  const keys = new Map<ItemKind, string[]>();
  for (const { kind, key } of rows) {
    let list = keys.get(kind);
    if (!list) keys.set(kind, (list = []));
    list.push(key);
  }
  return keys;
}

/** An item as kind, unit separator (U+001F), key: how `Reuse.changed` names it, and the SQL of findings-repository.ts (`kind || chr(31) || key`) compares. */
const itemRef = (kind: string, key: string) => `${kind}\u001f${key}`;

/** An item that differs between a run and the base run: its kind and key, and where each run has it, of which type and account. */
export interface ItemChange {
  kind: ItemKind;
  key: string;
  run?: { type: string; account: string };
  base?: { type: string; account: string };
}

/**
 * The items of `types` that differ between the run and the base run: added, removed, changed
 * (state_sha256), moved (account or region), or without a hash. Both runs' items of those types,
 * joined by hash (they may be just stored, without statistics): one pass over each run.
 */
export async function changedItems(db: Knex, runId: string, baseRunId: string, types: Set<string>, most = Infinity): Promise<ItemChange[] | null> {
  type Row = { kind: ItemKind; key: string; c_type: string | null; c_account: string | null; b_type: string | null; b_account: string | null };
  // One comparison per kind of item (kind is part of the join key, so each is exact on its own), each
  // on a connection of its own: PostgreSQL runs them on every core (bench:evaluate: 0.55-0.65 s as
  // one query, the 100,000 resources being the larger part).
  const kinds = ITEM_KINDS.filter((kind) => [...types].some((type) => itemSlice(type)?.kind === kind));
  const compare = (kind: ItemKind) =>
    db.transaction(async (trx): Promise<Row[]> => {
      await trx.raw('SET LOCAL enable_nestloop = off');
      // The hash of the base run's items in memory: with the default 4 MB, 170,000 of them were hashed
      // in 8 batches through temporary files (140 MB written and read back in bench:evaluate).
      await trx.raw(`SET LOCAL work_mem = '64MB'`);
      const items = (run: string) => trx('run_items as c').select('c.kind', 'c.type', 'c.key', 'c.account', 'c.region', 'c.state_sha256').where({ 'c.run_id': run, 'c.kind': kind }).whereRaw(ofTypes(trx, types));
      const { rows } = await trx.raw(
        `SELECT coalesce(c.kind, b.kind) AS kind, coalesce(c.key, b.key) AS key, c.type AS c_type, c.account AS c_account, b.type AS b_type, b.account AS b_account
         FROM (${items(runId).toQuery()}) c FULL JOIN (${items(baseRunId).toQuery()}) b ON b.kind = c.kind AND b.key = c.key
         WHERE c.key IS NULL OR b.key IS NULL OR c.state_sha256 IS NULL OR b.state_sha256 IS DISTINCT FROM c.state_sha256
            OR b.account <> c.account OR b.region <> c.region
         ${Number.isFinite(most) ? `LIMIT ${Math.floor(most) + 1}` : ''}`,
      );
      return rows;
    });
  const rows = (await Promise.allSettled(kinds.map(compare))).map((result) => {
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  }).flat();
  // More than `most`: null, and the caller does not reuse.
  if (rows.length > most) return null;
  return rows.map((r) => ({
    kind: r.kind,
    key: r.key,
    ...(r.c_type !== null ? { run: { type: r.c_type, account: r.c_account! } } : {}),
    ...(r.b_type !== null ? { base: { type: r.b_type, account: r.b_account! } } : {}),
  }));
}

/** Incremental: the keys, by kind, of the resource rules' items to evaluate: those of `types` changed since the base run, and every item of `freshTypes`. */
async function changedOrFresh(db: Knex, runId: string, changes: ItemChange[], types: Set<string>, freshTypes: Set<string>): Promise<Map<ItemKind, string[]>> {
  const keys = new Map<string, { kind: ItemKind; key: string }>();
  for (const c of changes) if (c.run && isOfTypes(c.kind, c.run.type, types)) keys.set(itemRef(c.kind, c.key), c);
  if (freshTypes.size > 0) for (const [kind, ofKind] of await itemsOfTypes(db, runId, freshTypes)) for (const key of ofKind) keys.set(itemRef(kind, key), { kind, key });
  return byKind([...keys.values()].sort((a, b) => (a.kind === b.kind ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.kind < b.kind ? -1 : 1)));
}

/** Per account, the types (of `types`) of the items that changed there: on either side of a change, in the run or in the base run. */
function changedAccountTypes(changes: ItemChange[], types: Set<string>): Map<string, Set<string>> {
  const changed = new Map<string, Set<string>>();
  for (const c of changes) {
    for (const side of [c.run, c.base]) {
      if (!side || !isOfTypes(c.kind, side.type, types)) continue;
      let set = changed.get(side.account);
      if (!set) changed.set(side.account, (set = new Set()));
      set.add(itemType(c.kind, side.type));
    }
  }
  return changed;
}

/** Which account rules an evaluation judges where (the others' verdicts are reused: findings-repository.ts, reuseFindings). */
export interface AccountPlan {
  /** Types of the items read in every account, for the rules judged everywhere: undefined, every item (one of them does not name its types); null, none (no such rule). */
  everywhere: Set<string> | undefined | null;
  /** Per account where a reusable rule's items changed, the types of those rules' items: read there too. */
  changed: Map<string, Set<string>>;
  /** The pairs of reusable rule and account judged afresh. */
  freshPairs: Array<{ rule: string; account: string }>;
  /** Whether rule `rule`'s violations in `account` are judged afresh (else its base verdicts stand). */
  fresh: (rule: string, account: string) => boolean;
}

/**
 * The account rules' plan: a rule that cannot reuse (a read changed, or no named item types) is
 * judged in every account; a reusable one only in the accounts where its items changed
 * (`changedTypes`: per account, the item types whose items differ from the base run's).
 */
export function planAccounts(accountRules: ReadonlyArray<{ id: string; item_types?: string[] }>, reusable: ReadonlySet<string>, changedTypes: ReadonlyMap<string, ReadonlySet<string>>): AccountPlan {
  const everywhereRules = accountRules.filter((r) => !reusable.has(r.id));
  const everywhere = everywhereRules.length === 0 ? null : everywhereRules.every((r) => Array.isArray(r.item_types)) ? new Set(everywhereRules.flatMap((r) => r.item_types!)) : undefined;
  const changed = new Map<string, Set<string>>();
  const freshPairs: AccountPlan['freshPairs'] = [];
  for (const account of [...changedTypes.keys()].sort()) {
    const types = changedTypes.get(account)!;
    const hit = accountRules.filter((r) => reusable.has(r.id) && (r.item_types ?? []).some((t) => types.has(t)));
    if (hit.length === 0) continue;
    changed.set(account, new Set(hit.flatMap((r) => r.item_types ?? [])));
    for (const r of hit) freshPairs.push({ rule: r.id, account });
  }
  const freshSet = new Set(freshPairs.map((p) => `${p.rule}\u0000${p.account}`));
  return { everywhere, changed, freshPairs, fresh: (rule, account) => !reusable.has(rule) || freshSet.has(`${rule}\u0000${account}`) };
}

/** Rows of a run's items read per FETCH while streaming the account rules' inputs. */
const ACCOUNT_FETCH = 2_000;

/**
 * The account rules' inputs: the run's items of `itemTypes` (all its items when undefined), grouped
 * into whole accounts of up to `groupItems` items, plus the accounts only the shared parts name;
 * `evaluate` gets each group's accounts and items, and is awaited before the next group is read.
 * How many items each account has is one query; the items are then read in one query ordered by
 * account, through a cursor ACCOUNT_FETCH rows at a time, so no more than a group (and one fetch)
 * is held at once rather than every item of those types.
 */
export async function evaluateAccounts(
  db: Knex,
  runId: string,
  shared: PolicyInput,
  plan: Pick<AccountPlan, 'everywhere' | 'changed'>,
  groupItems: number,
  evaluate: (accounts: Set<string>, items: Item[]) => Promise<void>,
  phases: Record<string, number> = {},
  fetch = ACCOUNT_FETCH,
): Promise<void> {
  const add = (name: string, since: number) => (phases[name] = (phases[name] ?? 0) + (performance.now() - since));
  const { everywhere, changed } = plan;
  const changedTypes = new Set([...changed.values()].flatMap((types) => [...types]));
  const ofRun = (query: Knex.QueryBuilder) => {
    query.where('c.run_id', runId).whereIn('c.kind', ITEM_KINDS);
    // Every account's items of the types read everywhere, and the changed accounts' of their changed rules' types.
    query.where((q) => {
      if (everywhere === undefined) q.whereRaw('true');
      else if (everywhere !== null) q.whereRaw(ofTypes(db, everywhere));
      if (changed.size > 0) q.orWhere((c) => c.whereIn('c.account', [...changed.keys()]).whereRaw(ofTypes(db, changedTypes)));
    });
    return query;
  };
  // What the query reads for the changed accounts' union of types, only the types of that account.
  const wanted = (row: ItemRow) => {
    if (everywhere === undefined) return true;
    const type = itemType(row.kind, row.type);
    return everywhere?.has(type) || changed.get(row.account)?.has(type) === true;
  };
  let t = performance.now();
  // Accounts in the database's order (the order the items will come in), each with its item count:
  // from the counts kept when the run finished (run_item_counts), made first if it has none.
  await runItemCounts(db, runId);
  const counts = (await ofRun(db('run_item_counts as c').select('c.account').sum('c.items as n').groupBy('c.account').orderBy('c.account'))) as unknown as Array<{ account: string; n: string }>;
  add('read items', t);
  const groups: string[][] = [];
  let group: string[] = [];
  let size = 0;
  const place = (account: string, n: number) => {
    if (group.length > 0 && size + n > groupItems) {
      groups.push(group);
      group = [];
      size = 0;
    }
    group.push(account);
    size += n;
  };
  const withItems = new Set<string>();
  for (const c of counts) {
    withItems.add(c.account);
    place(c.account, Number(c.n));
  }
  // Accounts without items of those types: judged too, in groups after the others. Those the shared
  // parts name (coverage, LF-tag assignments), by the rules judged everywhere; and each changed
  // account (its items all gone: a rule concluding from absence may report it), by its changed rules.
  const withoutItems = new Set(changed.keys());
  if (everywhere !== null) for (const account of sharedAccounts(shared)) withoutItems.add(account);
  for (const account of [...withoutItems].sort()) if (!withItems.has(account)) place(account, 0);
  if (group.length > 0) groups.push(group);
  if (groups.length === 0) return;

  // The groups in order, each evaluated as soon as its last account's items have been read.
  let current = 0;
  let accounts = new Set(groups[0]);
  let items: Item[] = [];
  const next = async () => {
    await evaluate(accounts, items);
    current++;
    accounts = new Set(groups[current] ?? []);
    items = [];
  };
  if (withItems.size > 0) {
    await db.transaction(async (trx) => {
      await trx.raw('SET LOCAL cursor_tuple_fraction = 1');
      const query = ofRun(trx('run_items as c').select('c.kind', 'c.type', 'c.key', 'c.account', 'c.region', trx.raw('c.data::text AS text')).orderBy(['c.account', 'c.kind', 'c.key'])).toSQL();
      await trx.raw(`DECLARE account_items NO SCROLL CURSOR FOR ${query.sql}`, query.bindings);
      for (;;) {
        t = performance.now();
        const { rows } = (await trx.raw(`FETCH ${fetch} FROM account_items`)) as { rows: ItemRow[] };
        add('read items', t);
        for (const row of rows) {
          if (!wanted(row)) continue;
          while (!accounts.has(row.account)) {
            if (current >= groups.length) throw new Error(`account ${row.account} of run ${runId} was not counted`);
            await next();
          }
          items.push(toItem(row));
        }
        if (rows.length < fetch) break;
      }
      await trx.raw('CLOSE account_items');
    });
  }
  while (current < groups.length) await next();
}
