import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { shippedCatalog } from '../controls/catalog.js';
import { readEvidenceEntries, recordEvaluationEvidence } from '../evidence/evaluation-evidence.js';
import { applyExceptions } from '../exceptions/findings.js';
import { HttpProblem } from '../http/problem.js';
import { COMPLIANCE_VIOLATIONS } from '../policy/entrypoints.js';
import { epochSeconds, type PolicyInput, type Violation } from '../policy/input.js';
import type { PolicyService } from '../policy/service.js';
import { readRunState } from '../sources/run-store.js';
import type { SourceSetting } from '../sources/types.js';
import { catalogInput } from './catalog-input.js';
import { evaluateInParts, sharedParts, type EvaluationBase, type EvaluationMode } from './partition.js';
import { lockCatalogEvaluations, settleCatalogRequests } from './catalog-requests.js';
import { carryOpenFindings, carryPendingViolations, prunePendingViolations, resolveUnreported, reuseFindings, storePendingViolations, upsertFindings, type Reuse } from './findings-repository.js';
import { violationsAt } from './time-bound.js';
import { coverageInput, observedCounts, readCoverage, ruleCoverage, type CoverageRule, type RuleCoverage } from '../sources/coverage.js';

export interface EvaluationRecord {
  id: string;
  run_id: string;
  status: 'queued' | 'running' | 'complete' | 'failed';
  trigger: string;
  requested_by: string;
  bundle_id: string | null;
  bundle_revision: string | null;
  catalog_sha256: string | null;
  run_partial: boolean | null;
  /** Per rule: whether this evaluation tested it, and why not (src/sources/coverage.ts). */
  rule_coverage: Record<string, RuleCoverage> | null;
  counts: Record<string, number>;
  /** How the estate was evaluated: whole (one input), parts (on every core) or incremental (verdicts of unchanged items reused). */
  mode: EvaluationMode | null;
  /** Per shared part of the input (now, catalog, ...), its SHA-256: what the next evaluation compares to reuse verdicts. */
  input_sha256: Record<string, string> | null;
  /** The previous evaluation it compared against (recorded when chosen; null: none was usable). */
  base_evaluation_id: string | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** Queues an evaluation of a finished run (the caller enqueues the job). */
export async function createEvaluation(db: Knex, values: { runId: string; trigger: string; requestedBy: string }): Promise<EvaluationRecord> {
  const run = await db('collection_runs').select('status').where({ id: values.runId }).first();
  if (!run) throw new HttpProblem(400, 'validation-error', `collection_id: run ${values.runId} does not exist`, [{ location: 'body', field: 'collection_id', message: 'does not exist' }]);
  if (!['complete', 'partial'].includes(run.status)) {
    throw new HttpProblem(409, 'conflict', `run ${values.runId} is ${run.status}; only a complete or partial run can be evaluated`);
  }
  const [record] = await db('evaluations')
    .insert({ id: uuidv7(), run_id: values.runId, status: 'queued', trigger: values.trigger, requested_by: values.requestedBy })
    .returning('*');
  return record;
}

/**
 * What an evaluation's transaction does before it writes: one writer of findings at a time with
 * catalog evaluations (src/evaluation/catalog-evaluation.ts), so finished_at, read under that lock,
 * makes the latest evaluation the last one written; and the membership left by an earlier attempt
 * at this evaluation goes.
 */
async function beginWrite(trx: Knex.Transaction, evaluationId: string): Promise<void> {
  await lockCatalogEvaluations(trx);
  await trx('evaluation_findings').where({ evaluation_id: evaluationId }).delete();
}

/**
 * Evaluates the active bundle over a run's state and the metadata repository, then updates the
 * findings. `now` is when the run observed the estate, so the same run, bundle and catalog always
 * give the same findings. A partial run opens and refreshes findings but resolves none: what was
 * not seen is not evidence of a fix. A complete run resolves a finding only where it listed the
 * finding's resource type completely in its account and region (docs/ARCHITECTURE.md, "Coverage and
 * resolution"); findings neither reported nor resolved are carried into the evaluation as still open.
 */
export async function runEvaluation(
  db: Knex,
  policy: PolicyService,
  evaluationId: string,
  options: { incremental?: boolean; /** Filled with milliseconds per phase (bench/evaluate.ts). */ phases?: Record<string, number> } = {},
): Promise<EvaluationRecord> {
  const phases = options.phases ?? {};
  let mark = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    phases[name] = (phases[name] ?? 0) + (now - mark);
    mark = now;
  };
  const evaluation: EvaluationRecord = await db('evaluations').where({ id: evaluationId }).first();
  if (!evaluation || evaluation.status === 'complete') return evaluation;
  await db('evaluations').update({ status: 'running', started_at: db.fn.now(), error: null }).where({ id: evaluationId });
  try {
    const run = await db('collection_runs').where({ id: evaluation.run_id }).first();
    const { engine, bundleId } = policy.current();
    const { input: shared, catalog, sha256 } = await sharedInput(db, run);
    // In parts on every core, reusing the previous evaluation's verdicts on unchanged items unless
    // told not to; the whole input at once when the bundle cannot be evaluated in parts.
    const base = options.incremental === false ? undefined : await evaluationBase(db, evaluationId, run.observed_at);
    phase('shared input');
    // Which rules the run lets this evaluation test depends on the run and the catalog, not on the
    // verdicts: read while the rules run (an error is raised where it is awaited).
    const coverage = coverageOfRules(db, run.id, engine.rules(), catalog);
    coverage.catch(() => {});
    // Incremental: what the base lends is carried over in this evaluation's transaction while the
    // changed items are still judged, instead of after: its verdicts that stand (reuseFindings) and
    // its pending violations on what did not change (carryPendingViolations), after which the older
    // pending violations no one will read go (prunePendingViolations). Those writes are
    // PostgreSQL's work (2 s of a 5.5 s re-evaluation in bench:evaluate), the judging is the policy
    // threads'. The transaction holds the findings writers' lock from then on; it commits with the
    // rest of the evaluation or not at all.
    type Carried = { reused: { reused: number; reopened: number }; begun: Violation[] };
    let early: { trx: Promise<Knex.Transaction>; carried: Promise<Carried> } | undefined;
    const onStanding = (findingIds: Promise<string[]>, reuse: Omit<Reuse, 'findingIds'>) => {
      const trx = db.transaction();
      trx.catch(() => {});
      const carried = (async (): Promise<Carried> => {
        const ids = await findingIds;
        const open = await trx;
        const t = performance.now();
        await beginWrite(open, evaluationId);
        const reused = await reuseFindings(open, evaluationId, run.observed_at, ids);
        // The base's pending violations on unchanged items: kept as this evaluation's, reported if they hold now.
        const begun = await carryPendingViolations(open, evaluationId, shared.now, reuse, new Map(engine.rules().map((r) => [r.id, r])));
        await prunePendingViolations(open, evaluationId);
        phases['carry-over, while judging'] = performance.now() - t;
        return { reused, begun };
      })();
      carried.catch(() => {});
      early = { trx, carried };
    };
    // An early transaction that will not be written: rolled back once its carry-over has settled (no
    // query of it is then in flight), and its connection goes back to the pool.
    const abandon = async () => {
      if (!early) return;
      const { trx, carried } = early;
      early = undefined;
      await carried.catch(() => {});
      const open = await trx.catch(() => undefined);
      await open?.rollback().catch(() => {});
    };
    let estate;
    try {
      estate = await evaluateInParts(db, engine, run.id, shared, base, { onStanding }, phases);
    } catch (error) {
      await abandon();
      throw error;
    }
    mark = performance.now();
    if (!('reuse' in estate && estate.reuse)) await abandon();
    if ('whole' in estate) {
      const { input } = await runInput(db, run);
      // Only what holds now: a whole evaluation is never a base, so nothing of it is kept for later.
      const violations = violationsAt((await engine.evaluateLarge(COMPLIANCE_VIOLATIONS, input)).result as Violation[], shared.now, engine.rules());
      estate = { violations, mode: 'whole', inputSha256: sharedParts(shared), stats: { items: 0, evaluated_items: 0, reused_items: 0, reused_violations: 0, evaluated_account_items: 0, parts: 1 }, why: estate.whole };
    }
    // What holds at the run's now is reported; the resource and account rules' violations that begin
    // later (violates_after) are kept for the next evaluation (src/evaluation/time-bound.ts).
    const { violations: holding, mode, stats } = estate;
    const partial = run.status === 'partial';
    const ruleCoverages = await coverage.catch(async (error: unknown) => {
      await abandon();
      throw error;
    });
    phase('rule coverage');
    const carriedEarly = early;
    // Incremental: the evidence entries of the verdicts carried over, read on a connection of their
    // own now that the policy threads are done and the transaction is still writing the carry-over
    // (bench:evaluate: 0.3-0.45 s of the evidence, while one core was otherwise idle). A failure to
    // read ahead only means the evidence reads them itself.
    const ahead = carriedEarly && estate.reuse ? readEvidenceEntries(db, estate.reuse.findingIds).catch(() => undefined) : undefined;
    const write = async (trx: Knex.Transaction) => {
      if (!carriedEarly) await beginWrite(trx, evaluationId);
      phase('lock');
      // Incremental: what the base lent, carried over while the estate was judged (evaluateInParts
      // told which of its verdicts stand); in full, nothing.
      const { reused, begun } = carriedEarly ? await carriedEarly.carried : { reused: { reused: 0, reopened: 0 }, begun: [] };
      stats.reused_violations = reused.reused;
      phase('carry-over');
      await storePendingViolations(trx, evaluationId, estate.later ?? []);
      // This evaluation is the next one's base from its commit: older pending violations are read by
      // no one unless an unfinished evaluation chose their evaluation as its base (incremental: done
      // while judging, once the base's were carried over).
      if (mode !== 'whole' && !carriedEarly) await prunePendingViolations(trx, evaluationId);
      phase('pending violations');
      const reported = await upsertFindings(trx, evaluationId, run.observed_at, begun.length ? [...holding, ...begun] : holding);
      phase('upsert findings');
      // A partial run resolves nothing; a complete one only where it listed the finding's type completely.
      const resolved = partial ? 0 : await resolveUnreported(trx, evaluationId, run.id, run.observed_at);
      // What stays open without being seen again still fails its controls at this evaluation.
      phase('resolve');
      const carried = await carryOpenFindings(trx, evaluationId);
      phase('carry');
      // Approved, unexpired exceptions turn what they cover excepted, recorded per evaluation.
      const excepted = await applyExceptions(trx, evaluationId);
      phase('exceptions');
      // Findings reported at this evaluation, each once (one reported afresh may also be carried over).
      const violationCount = (await trx('evaluation_findings').where({ evaluation_id: evaluationId, reported: true }).count('* as n').first())?.n ?? 0;
      const [done] = await trx('evaluations')
        .update({
          status: 'complete',
          bundle_id: bundleId,
          bundle_revision: engine.revision,
          catalog_sha256: sha256,
          run_partial: partial,
          rule_coverage: JSON.stringify(ruleCoverages),
          counts: JSON.stringify({
            violations: Number(violationCount), new: reported.created, reopened: reported.reopened + reused.reopened, resolved, carried, excepted,
            items: stats.items, evaluated_items: stats.evaluated_items, reused_items: stats.reused_items, reused_violations: stats.reused_violations,
            evaluated_account_items: stats.evaluated_account_items,
          }),
          mode,
          input_sha256: JSON.stringify(estate.inputSha256),
          finished_at: trx.raw('clock_timestamp()'),
        })
        .where({ id: evaluationId })
        .returning('*');
      // The evaluation's evidence commits with it: no result without its evidence, and none twice.
      phase('update evaluation');
      const entries = await ahead;
      // Read again: a finding carried over that this transaction wrote since (found afresh as well).
      for (const id of reported.ids) entries?.delete(id);
      await recordEvaluationEvidence(trx, { evaluation: done, observedAt: run.observed_at, catalog: shippedCatalog(), rules: engine.rules(), ahead: entries });
      phase('evidence');
      // A catalog change committed while this evaluation ran is evaluated next (its verdicts here are stale).
      await settleCatalogRequests(trx, sha256, async () => (await catalogInput(trx)).sha256);
      phase('catalog requests');
      return done;
    };
    // One transaction either way; incremental, the one the carry-over opened while judging.
    const trx = carriedEarly ? await carriedEarly.trx : await db.transaction();
    let done: EvaluationRecord;
    try {
      done = await write(trx);
    } catch (error) {
      await trx.rollback().catch(() => {});
      await ahead;
      throw error;
    }
    await trx.commit();
    return done;
  } catch (error) {
    const message = error instanceof HttpProblem ? error.detail : String((error as { message?: unknown })?.message ?? error);
    const [failed] = await db('evaluations').update({ status: 'failed', error: message, finished_at: db.fn.now() }).where({ id: evaluationId }).returning('*');
    return failed;
  }
}

/**
 * Ends an evaluation that cannot finish (its job gave up: src/jobs/workflows.ts): `failed`, with
 * `error` saying why, only if it is still `queued` or `running`; a finished one is left as it is.
 * Nothing else is written: its findings commit with `complete` only, so a failed evaluation
 * resolves, opens and excepts nothing. Returns the failed evaluation, or undefined.
 */
export async function failEvaluation(db: Knex, evaluationId: string, error: string): Promise<EvaluationRecord | undefined> {
  const [failed] = await db('evaluations')
    .update({ status: 'failed', error: error.slice(0, 2000), finished_at: db.fn.now() })
    .where({ id: evaluationId })
    .whereIn('status', ['queued', 'running'])
    .returning('*');
  return failed;
}

/** The policy input of a run: what it saw and how completely, the catalog now, and its observation time as `now`. */
export async function runInput(db: Knex, run: { id: string; observed_at: string }): Promise<{ input: PolicyInput; catalog: PolicyInput['catalog']; sha256: string }> {
  const { input: shared, catalog, sha256 } = await sharedInput(db, run);
  const state = await readRunState(db, run.id, ['resource', 'finding', 'permission']);
  const input: PolicyInput = {
    ...shared,
    resources: state.resources,
    findings: state.findings,
    lake_formation: { ...shared.lake_formation, permissions: state.permissions },
  };
  return { input, catalog, sha256 };
}

/**
 * The policy input of a run without its items (resources, findings, permissions): the parts every
 * part of an evaluation shares (src/evaluation/partition.ts).
 */
export async function sharedInput(db: Knex, run: { id: string; observed_at: string }): Promise<{ input: PolicyInput; catalog: PolicyInput['catalog']; sha256: string }> {
  const [{ settings }, rows] = await Promise.all([readRunState(db, run.id, ['setting']), readCoverage(db, run.id)]);
  const { catalog, sha256 } = await catalogInput(db);
  const input: PolicyInput = {
    now: epochSeconds(run.observed_at),
    resources: [],
    findings: [],
    lake_formation: { permissions: [], lf_tag_assignments: lfTagAssignments(settings) },
    catalog,
    // What the run listed, so that rules concluding from absence judge only where it looked completely.
    coverage: coverageInput(rows),
  };
  return { input, catalog, sha256 };
}

/**
 * The evaluation to reuse verdicts from: the latest complete evaluation of a run (not a catalog
 * evaluation, which sees no resources), evaluated in parts, whose input hashes were recorded.
 */
async function evaluationBase(db: Knex, evaluationId: string, observedAt: string): Promise<EvaluationBase | undefined> {
  // Chosen and recorded under the lock a finishing evaluation holds while it drops the pending
  // violations of evaluations no longer anyone's base (prunePendingViolations): either this choice
  // commits first and that evaluation keeps the base's, or it commits first and is chosen here.
  return db.transaction(async (trx) => {
    await lockCatalogEvaluations(trx);
    const base = await trx('evaluations as e')
      .join('collection_runs as r', 'r.id', 'e.run_id')
      .select('e.id', 'e.run_id', 'e.bundle_revision', 'e.input_sha256', 'r.observed_at')
      .where('e.status', 'complete')
      .whereIn('e.mode', ['parts', 'incremental'])
      .whereNot('e.trigger', 'catalog')
      .whereNot('e.id', evaluationId)
      .whereNotNull('e.input_sha256')
      .orderBy('e.finished_at', 'desc')
      .first();
    // Verdicts that begin at a time (src/evaluation/time-bound.ts) are reused only forward in time: a
    // violation the base reported may not hold yet at an earlier now.
    const usable = base && new Date(base.observed_at).getTime() <= new Date(observedAt).getTime();
    await trx('evaluations').update({ base_evaluation_id: usable ? base.id : null }).where({ id: evaluationId });
    if (!usable) return undefined;
    const { observed_at: _observed, ...rest } = base;
    return rest;
  });
}

/**
 * Per rule of the bundle: did this evaluation test it? From the run's coverage, how many items of each
 * type it holds, and the catalog (read whole, so its types are always complete).
 */
export async function coverageOfRules(db: Knex, runId: string, rules: CoverageRule[], catalog: PolicyInput['catalog']): Promise<Record<string, RuleCoverage>> {
  const [rows, observed] = await Promise.all([readCoverage(db, runId), observedCounts(db, runId)]);
  const assets = catalog?.assets ?? [];
  const catalogCounts = { 'Custos::Catalog::Asset': assets.length, 'Custos::Catalog::Column': assets.reduce((n, a) => n + a.columns.length, 0) };
  return Object.fromEntries(rules.map((rule) => [rule.id, ruleCoverage(rule, rows, observed, catalogCounts)]));
}

/** The LF-tags collected on databases, tables and columns (setting lakeformation.lf_tag_assignments), each with its account and region. */
export function lfTagAssignments(settings: SourceSetting[]): NonNullable<PolicyInput['lake_formation']['lf_tag_assignments']> {
  return settings
    .filter((s) => s.key === 'lakeformation.lf_tag_assignments' && Array.isArray(s.value))
    .flatMap((s) => (s.value as Array<Record<string, unknown>>).map((a) => ({ ...a, account: s.account, region: s.region }) as NonNullable<PolicyInput['lake_formation']['lf_tag_assignments']>[number]));
}
