/**
 * A run's estate evaluated in parts, on every core, and incrementally (docs/ARCHITECTURE.md,
 * "Evaluating an estate in parts").
 *
 * Each rule declares in its `# METADATA` how its violations depend on the input (`custom.scope`):
 * - `resource`: each violation is about one item (a resource or a Security Hub finding, reported on
 *   that item, of one of the rule's resource_types) and depends on it alone plus the shared parts of
 *   the input it `reads` (now, catalog, coverage, lf_tag_assignments): any split of the items gives
 *   the same violations. Items are evaluated in parts of PART_ITEMS.
 * - `account`: depends on the items of one account: evaluated over groups of whole accounts, each
 *   group's input restricted to its accounts (items and the account-keyed shared parts).
 * - `catalog`: depends on the shared parts alone: evaluated once, with no items.
 * - `global`: evaluated once over the whole input.
 * The union equals one evaluation of the whole input. What the parts report is checked against
 * these promises (a resource violation on an item of its part and of the rule's types, an account
 * violation in an account of its group); a bundle that breaks them is evaluated whole instead.
 *
 * Incremental: when the previous evaluation used the same bundle revision, the violations of
 * `resource` rules on items whose normalised state is unchanged (run_items.state_sha256) are taken
 * from it for every rule whose `reads` are unchanged too (same catalog sha256, and so on: a rule
 * reading `now` is always evaluated afresh); only changed items are evaluated for them. Other
 * scopes are always evaluated afresh.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { SCOPED_VIOLATIONS } from '../policy/entrypoints.js';
import type { PolicyEngine } from '../policy/engine.js';
import type { PolicyInput, Violation } from '../policy/input.js';

/** Items per part for resource rules: the Wasm allocator slows as its heap grows (2,000 items: ~3× faster per item than 8,000). */
const PART_ITEMS = 2_000;
/** Items per group of whole accounts for account rules (an account larger than this is a group alone). */
const GROUP_ITEMS = 8_000;
const ITEM_KINDS = ['resource', 'finding', 'permission'] as const;
type ItemKind = (typeof ITEM_KINDS)[number];
const FINDING_TYPE = 'AWS::SecurityHub::Finding';

export type EvaluationMode = 'whole' | 'parts' | 'incremental';

export interface EstateResult {
  violations: Violation[];
  mode: EvaluationMode;
  /** Per shared part of the input (now, catalog, ...), the SHA-256 of its JSON: what the next evaluation compares to reuse verdicts. */
  inputSha256: Record<string, string>;
  /** Items evaluated with the resource rules, items whose verdicts were reused, violations reused. */
  stats: { items: number; evaluated_items: number; reused_items: number; reused_violations: number; parts: number };
  /** Why the estate was evaluated whole or in full, when it was. */
  why?: string;
}

/** What a previous evaluation left to build on. */
export interface EvaluationBase {
  id: string;
  run_id: string;
  bundle_revision: string | null;
  input_sha256: Record<string, string> | null;
}

interface Item {
  kind: ItemKind;
  /** The identity a violation on this item has: type|account|region|id. */
  match: string;
  account: string;
  text: string;
  unchanged: boolean;
}

class BrokenPromise extends Error {}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The identity of the item a violation is about (a resource's run_items key; a finding's type, account, region and id). */
const violationMatch = (v: Violation) => `${v.resource.type}|${v.resource.account}|${v.resource.region}|${v.resource.id}`;

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

/** The input as JSON text: the shared parts with these items spliced in (their stored JSON, never parsed here). */
function inputText(shared: PolicyInput, items: Item[]): Uint8Array {
  const lists: Record<ItemKind, string[]> = { resource: [], finding: [], permission: [] };
  for (const item of items) lists[item.kind].push(item.text);
  const mark = (kind: string) => `\u0000${kind}`;
  let text = JSON.stringify({
    ...shared,
    resources: mark('resource'),
    findings: mark('finding'),
    lake_formation: { ...shared.lake_formation, permissions: mark('permission') },
  });
  for (const kind of ITEM_KINDS) text = text.replace(JSON.stringify(mark(kind)), () => `[${lists[kind].join(',')}]`);
  return Buffer.from(text, 'utf8');
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

/**
 * Evaluates a run's items against the engine in parts (see the top of this file). `shared` is the
 * policy input without items; `base`, the previous evaluation to reuse verdicts from (undefined: a
 * full evaluation). Returns undefined when the bundle cannot be evaluated in parts (no scoped
 * entrypoints) or broke a scope's promise: the caller then evaluates the whole input.
 */
export async function evaluateInParts(
  db: Knex,
  engine: PolicyEngine,
  runId: string,
  shared: PolicyInput,
  base?: EvaluationBase,
  split: { partItems?: number; groupItems?: number } = {},
  phases: Record<string, number> = {},
): Promise<EstateResult | { whole: string }> {
  const add = (name: string, since: number) => (phases[name] = (phases[name] ?? 0) + (performance.now() - since));
  const partItems = split.partItems ?? PART_ITEMS;
  const groupItems = split.groupItems ?? GROUP_ITEMS;
  if (!engine.partitionable) return { whole: 'the bundle has no per-scope entrypoints' };
  const rules = engine.rules();
  const byId = new Map(rules.map((r) => [r.id, r]));
  const inputSha256 = sharedParts(shared);
  const scopes = new Set(rules.map((r) => r.scope));
  if (scopes.has('global')) return { whole: `rules of scope global: ${rules.filter((r) => r.scope === 'global').map((r) => r.id).join(', ')}` };

  // Incremental: resource rules whose every read is unchanged reuse the base's verdicts on unchanged items.
  const reusable = new Set<string>();
  if (base && base.bundle_revision === engine.revision && base.input_sha256) {
    for (const rule of rules) {
      if (rule.scope !== 'resource') continue;
      const reads = rule.reads ?? Object.keys(inputSha256);
      if (reads.every((part) => inputSha256[part] !== undefined && base.input_sha256![part] === inputSha256[part])) reusable.add(rule.id);
    }
  }
  const incremental = reusable.size > 0 ? base : undefined;
  // Unchanged items are still evaluated where a resource rule that cannot reuse judges their type.
  const freshTypes = new Set(rules.filter((r) => r.scope === 'resource' && !reusable.has(r.id)).flatMap((r) => r.resource_types));

  const violations: Violation[] = [];
  const internedRules = new Map<string, { json: string; rule: Violation['rule'] }>();
  const keep = (v: Violation) => {
    // Every violation of a rule carries the same metadata: one object per rule, not one per violation.
    const json = JSON.stringify(v.rule);
    const known = internedRules.get(v.id);
    if (known && known.json === json) v.rule = known.rule;
    else if (!known) internedRules.set(v.id, { json, rule: v.rule });
    violations.push(v);
  };
  const stats = { items: 0, evaluated_items: 0, reused_items: 0, reused_violations: 0, parts: 0 };
  const limiter = new Limiter(engine.partThreads);
  const pending: Array<Promise<void>> = [];
  const evaluate = (entrypoint: string, input: Uint8Array, check: (v: Violation) => boolean) => {
    stats.parts++;
    const task = limiter.run(async () => {
      const t = performance.now();
      const [answer] = await engine.evaluatePart([entrypoint], input);
      add(`thread ${entrypoint.split('/').pop()}`, t);
      for (const v of (answer!.result ?? []) as Violation[]) {
        if (!check(v)) throw new BrokenPromise(`${entrypoint}: rule ${v.id} reported ${violationMatch(v)} outside its part`);
        keep(v);
      }
    });
    pending.push(task);
    // A failure is raised by Promise.all below; this keeps it from being unhandled meanwhile.
    task.catch(() => {});
    return task;
  };

  // The catalog rules, once, with no items.
  evaluate(SCOPED_VIOLATIONS.catalog, inputText(shared, []), () => true);

  // Groups of whole accounts, from the accounts of the items and those the shared parts name.
  const counts: Array<{ account: string; n: string }> = await db('run_items')
    .select('account')
    .count('* as n')
    .where({ run_id: runId })
    .whereIn('kind', ITEM_KINDS)
    .groupBy('account');
  const sizes = new Map(counts.map((c) => [c.account, Number(c.n)]));
  for (const account of sharedAccounts(shared)) if (!sizes.has(account)) sizes.set(account, 0);
  const groups: string[][] = [];
  let group: string[] = [];
  let size = 0;
  for (const account of [...sizes.keys()].sort()) {
    const n = sizes.get(account)!;
    if (group.length > 0 && size + n > groupItems) {
      groups.push(group);
      group = [];
      size = 0;
    }
    group.push(account);
    size += n;
  }
  if (group.length > 0) groups.push(group);

  const unchangedMatches = new Set<string>();
  const resourceRuleIds = new Set(rules.filter((r) => r.scope === 'resource').map((r) => r.id));
  try {
    for (const accounts of groups) {
      let t = performance.now();
      const items = await readItems(db, runId, accounts, incremental?.run_id);
      add('read items', t);
      t = performance.now();
      stats.items += items.length;
      const groupAccounts = new Set(accounts);
      // Account rules: the whole group, restricted to its accounts.
      evaluate(SCOPED_VIOLATIONS.account, inputText(restrictToAccounts(shared, groupAccounts), items), (v) => groupAccounts.has(v.resource.account));
      // Resource rules: parts of the items to evaluate (changed ones, or any of a type a fresh rule judges).
      const toEvaluate: Item[] = [];
      for (const item of items) {
        if (item.unchanged) unchangedMatches.add(item.match);
        if (!item.unchanged || freshTypes.has(item.match.slice(0, item.match.indexOf('|')))) toEvaluate.push(item);
        else stats.reused_items++;
      }
      stats.evaluated_items += toEvaluate.length;
      for (let i = 0; i < toEvaluate.length; i += partItems) {
        const part = toEvaluate.slice(i, i + partItems);
        const matches = new Set(part.map((item) => item.match));
        // A resource rule's violation must be about an item of the part, of one of the rule's types.
        evaluate(SCOPED_VIOLATIONS.resource, inputText(shared, part), (v) => matches.has(violationMatch(v)) && (byId.get(v.id)?.resource_types ?? []).includes(v.resource.type));
      }
      // Bounded memory: at most a few groups' parts in flight while the next group is read.
      add('build inputs', t);
      t = performance.now();
      if (pending.length > 4 * engine.partThreads) await Promise.all(pending.splice(0, pending.length - 2 * engine.partThreads));
      add('wait for threads', t);
    }
    const t = performance.now();
    await Promise.all(pending);
    add('wait for threads', t);
  } catch (error) {
    if (error instanceof BrokenPromise) return { whole: error.message };
    throw error;
  }

  if (!incremental) return { violations, mode: 'parts', inputSha256, stats };

  // Incremental: fresh verdicts of reusable rules on unchanged items duplicate the base's; drop them,
  // then add the base's verdicts of reusable rules on items that are still unchanged.
  const result = violations.filter((v) => !(reusable.has(v.id) && unchangedMatches.has(violationMatch(v))));
  const t = performance.now();
  const reused = await reusedViolations(db, incremental.id, [...reusable]);
  add('read reused verdicts', t);
  for (const v of reused) {
    if (!unchangedMatches.has(violationMatch(v))) continue;
    if (!resourceRuleIds.has(v.id)) continue;
    result.push(v);
    stats.reused_violations++;
  }
  return { violations: result, mode: 'incremental', inputSha256, stats };
}

/** The items of some accounts, with whether each is unchanged since the base run (same state_sha256). */
async function readItems(db: Knex, runId: string, accounts: string[], baseRunId?: string): Promise<Item[]> {
  const query = db('run_items as c')
    .select('c.kind', 'c.key', 'c.type', 'c.account', 'c.region', db.raw('c.data::text AS text'))
    .where('c.run_id', runId)
    .whereIn('c.kind', ITEM_KINDS)
    .whereIn('c.account', accounts)
    .orderBy(['c.kind', 'c.key']);
  if (baseRunId) {
    query
      .leftJoin('run_items as b', function () {
        this.on('b.run_id', '=', db.raw('?', [baseRunId])).andOn('b.kind', '=', 'c.kind').andOn('b.key', '=', 'c.key');
      })
      .select(db.raw('(c.state_sha256 IS NOT NULL AND b.state_sha256 = c.state_sha256) AS unchanged'));
  }
  const rows: Array<{ kind: ItemKind; key: string; type: string; account: string; region: string; text: string; unchanged?: boolean }> = await query;
  return rows.map((row) => ({
    kind: row.kind,
    // A resource's key is type|account|region|id; a finding's, its id (violations name it as a Security Hub finding).
    match: row.kind === 'finding' ? `${FINDING_TYPE}|${row.account}|${row.region}|${row.key}` : row.kind === 'resource' ? row.key : `\u0000permission|${row.key}`,
    account: row.account,
    text: row.text,
    unchanged: row.unchanged === true,
  }));
}

/** The violations an evaluation reported for some rules, rebuilt from their findings (every field a violation has). */
async function reusedViolations(db: Knex, evaluationId: string, ruleIds: string[]): Promise<Violation[]> {
  const rows = await db('evaluation_findings as ef')
    .join('findings as f', 'f.id', 'ef.finding_id')
    .select('f.rule_id', 'f.severity', 'f.controls', 'f.msg', 'f.rule', 'f.resource_type', 'f.resource_id', 'f.account', 'f.region')
    .where({ 'ef.evaluation_id': evaluationId, 'ef.reported': true })
    .whereIn('f.rule_id', ruleIds);
  const interned = new Map<string, Violation['rule']>();
  return rows.map((f) => {
    const json = JSON.stringify(f.rule);
    if (!interned.has(json)) interned.set(json, f.rule);
    return {
      id: f.rule_id,
      severity: f.severity,
      controls: f.controls,
      msg: f.msg,
      resource: { type: f.resource_type, id: f.resource_id, account: f.account, region: f.region },
      rule: interned.get(json)!,
    } as Violation;
  });
}

