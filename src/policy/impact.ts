import type { Knex } from 'knex';
import { fingerprintOf } from '../evaluation/findings-repository.js';
import { runInput } from '../evaluation/evaluate.js';
import type { PolicyEngine } from './engine.js';
import { ACCESS_DECISION, COMPLIANCE_VIOLATIONS } from './entrypoints.js';
import type { Violation } from './input.js';
import { violationsAt } from '../evaluation/time-bound.js';
import { answer, incompleteInput, sameAnswer, type Answered } from './replay.js';
import { diffResults, type Difference } from './result-diff.js';
import type { PolicyService } from './service.js';

export const DEFAULT_IMPACT_DECISIONS = 1_000;
export const MAX_IMPACT_DECISIONS = 10_000;
/** Most entries of each list in the answer (the counts are always complete). */
const MAX_LISTED = 500;
/** Decisions read and evaluated together: at most this many rows or this much stored input. */
const CHUNK_ROWS = 250;
const CHUNK_BYTES = 8 * 1024 * 1024;

export interface ImpactFinding {
  rule_id: string;
  severity: string;
  msg: string;
  resource: Violation['resource'];
  /** The stored finding of this rule and resource, if there is one, and its status. */
  finding_id: string | null;
  finding_status: string | null;
}

export interface FindingsImpact {
  status: 'tested' | 'not_tested';
  reason: string | null;
  collection_id: string | null;
  observed_at: string | null;
  counts: { would_appear: number; would_disappear: number; unchanged: number };
  would_appear: ImpactFinding[];
  would_disappear: ImpactFinding[];
  truncated: boolean;
}

export interface DecisionChange {
  id: string;
  at: string;
  entrypoint: string;
  baseline: { defined: boolean; decision: string | null; error: string | null };
  candidate: { defined: boolean; decision: string | null; error: string | null };
  differences: Difference[];
}

export interface DecisionsImpact {
  requested: number;
  evaluated: number;
  counts: { flipped: number; changed: number; unchanged: number; skipped: number; failed: number };
  /** Access decisions whose allow/deny would change; other decisions whose result would change. */
  flipped: DecisionChange[];
  /** Access decisions with the same allow/deny but other obligations, reasons or grants. */
  changed: DecisionChange[];
  /** Decisions not evaluated: their logged input is incomplete (id and why), and engine failures. */
  skipped: Array<{ id: string; reason: string }>;
  failed: Array<{ id: string; reason: string }>;
  truncated: boolean;
}

/**
 * Findings that evaluating `candidate` instead of `baseline` (the active bundle) over the latest
 * complete collection run would open or no longer report. Both are evaluated now, over the same
 * input (the run and today's catalog), each in a fresh instance of the `large` worker pool, so the
 * difference is the bundles' alone. Without a complete run there is nothing honest to compare:
 * `not_tested`, never "no change" (a partial run would hide what it did not see).
 */
export async function findingsImpact(db: Knex, baseline: PolicyEngine, candidate: PolicyEngine): Promise<FindingsImpact> {
  const empty = { counts: { would_appear: 0, would_disappear: 0, unchanged: 0 }, would_appear: [], would_disappear: [], truncated: false };
  const run = await db('collection_runs').select('id', 'observed_at').where({ status: 'complete' }).orderByRaw('observed_at DESC NULLS LAST, id DESC').first();
  if (!run) {
    const latest = await db('collection_runs').select('id', 'status').orderBy('id', 'desc').first();
    const reason = latest
      ? `no collection run is complete (the latest, ${latest.id}, is ${latest.status}); a run that did not see everything would hide what it missed, so the bundle was not evaluated against the estate`
      : 'no collection run has completed yet, so there is no estate to evaluate the bundle against';
    return { status: 'not_tested', reason, collection_id: null, observed_at: null, ...empty };
  }
  const observedAt = new Date(run.observed_at).toISOString();
  const { input } = await runInput(db, run);
  let before: Violation[];
  let after: Violation[];
  try {
    // What each bundle would report at the run's now: violations that begin later do not count yet.
    before = violationsAt((await baseline.evaluateLarge(COMPLIANCE_VIOLATIONS, input)).result as Violation[], input.now, baseline.rules());
    after = violationsAt((await candidate.evaluateLarge(COMPLIANCE_VIOLATIONS, input)).result as Violation[], input.now, candidate.rules());
  } catch (error) {
    return { status: 'not_tested', reason: `the evaluation of run ${run.id} failed: ${String((error as Error).message).slice(0, 300)}`, collection_id: run.id, observed_at: observedAt, ...empty };
  }
  const beforeMap = new Map((before ?? []).map((v) => [fingerprintOf(v), v]));
  const afterMap = new Map((after ?? []).map((v) => [fingerprintOf(v), v]));
  const appear = [...afterMap].filter(([f]) => !beforeMap.has(f));
  const disappear = [...beforeMap].filter(([f]) => !afterMap.has(f));
  const listed = [...appear.slice(0, MAX_LISTED), ...disappear.slice(0, MAX_LISTED)].map(([f]) => f);
  const stored = new Map<string, { id: string; status: string }>();
  for (const row of await db('findings').select('id', 'status', 'fingerprint').whereIn('fingerprint', listed)) stored.set(row.fingerprint, row);
  const describe = ([fingerprint, v]: [string, Violation]): ImpactFinding => ({
    rule_id: v.id,
    severity: v.severity,
    msg: v.msg,
    resource: v.resource,
    finding_id: stored.get(fingerprint)?.id ?? null,
    finding_status: stored.get(fingerprint)?.status ?? null,
  });
  return {
    status: 'tested',
    reason: null,
    collection_id: run.id,
    observed_at: observedAt,
    counts: { would_appear: appear.length, would_disappear: disappear.length, unchanged: beforeMap.size - disappear.length },
    would_appear: appear.slice(0, MAX_LISTED).map(describe),
    would_disappear: disappear.slice(0, MAX_LISTED).map(describe),
    truncated: appear.length > MAX_LISTED || disappear.length > MAX_LISTED,
  };
}

/**
 * The last `limit` logged decisions evaluated with the active bundle and with `candidate`, both
 * now and with today's catalog, principals and grants, so a difference is the bundles' alone.
 * Read and evaluated a chunk at a time (at most 250 rows or 8 MiB of stored input), through the
 * decision threads with their time budget, so the work stays bounded and live decisions interleave.
 */
export async function decisionsImpact(db: Knex, policy: PolicyService, baseline: PolicyEngine, candidate: PolicyEngine, limit: number): Promise<DecisionsImpact> {
  const impact: DecisionsImpact = { requested: limit, evaluated: 0, counts: { flipped: 0, changed: 0, unchanged: 0, skipped: 0, failed: 0 }, flipped: [], changed: [], skipped: [], failed: [], truncated: false };
  if (limit === 0) return impact;
  const heads: Array<{ id: string; at: Date; size: number }> = await db('decision_log')
    .select('id', 'at', db.raw('pg_column_size(input) AS size'))
    .orderBy([{ column: 'at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(limit);
  const listed = <T>(list: T[], item: T) => {
    if (list.length < MAX_LISTED) list.push(item);
    else impact.truncated = true;
  };
  for (let start = 0; start < heads.length; ) {
    let end = start;
    let bytes = 0;
    while (end < heads.length && end - start < CHUNK_ROWS && (end === start || bytes + Number(heads[end]!.size) <= CHUNK_BYTES)) bytes += Number(heads[end++]!.size);
    const chunk = heads.slice(start, end);
    start = end;
    const times = chunk.map((h) => new Date(h.at).getTime());
    const rows: Array<{ id: string; at: Date; entrypoint: string; input: unknown }> = await db('decision_log')
      .select('id', 'at', 'entrypoint', 'input')
      .whereIn('id', chunk.map((h) => h.id))
      // Bounds the partitions read; widened by a millisecond each way because PostgreSQL keeps
      // microseconds and a JavaScript Date does not.
      .whereBetween('at', [new Date(Math.min(...times) - 1), new Date(Math.max(...times) + 1)]);
    rows.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : a.id < b.id ? 1 : -1));
    const evaluated = await Promise.all(
      rows.map(async (row) => {
        const incomplete = incompleteInput(row);
        if (incomplete) return { row, incomplete };
        const [before, after] = await Promise.all([answer(policy, baseline, row.entrypoint, row.input), answer(policy, candidate, row.entrypoint, row.input)]);
        return { row, before, after };
      }),
    );
    for (const item of evaluated) {
      const { row } = item;
      if ('incomplete' in item) {
        impact.counts.skipped++;
        listed(impact.skipped, { id: row.id, reason: item.incomplete! });
        continue;
      }
      const { before, after } = item as { before: Answered; after: Answered };
      const failure = before.engineError ?? after.engineError;
      if (failure) {
        impact.counts.failed++;
        listed(impact.failed, { id: row.id, reason: `the policy engine could not evaluate it: ${failure.slice(0, 200)}` });
        continue;
      }
      impact.evaluated++;
      if (sameAnswer(before, after)) {
        impact.counts.unchanged++;
        continue;
      }
      const flipped = row.entrypoint !== ACCESS_DECISION || decisionOf(before) !== decisionOf(after);
      const change: DecisionChange = {
        id: row.id,
        at: new Date(row.at).toISOString(),
        entrypoint: row.entrypoint,
        baseline: summary(before),
        candidate: summary(after),
        differences: diffResults(before.result, after.result, 10).differences,
      };
      impact.counts[flipped ? 'flipped' : 'changed']++;
      listed(flipped ? impact.flipped : impact.changed, change);
    }
  }
  return impact;
}

const decisionOf = (a: Answered) => ((a.result as { decision?: unknown } | null)?.decision as string | undefined) ?? null;
const summary = (a: Answered) => ({ defined: a.defined, decision: decisionOf(a), error: a.error });

