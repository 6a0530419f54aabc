import type { FastifyBaseLogger } from 'fastify';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { shippedCatalog } from '../controls/catalog.js';
import { recordEvaluationEvidence } from '../evidence/evaluation-evidence.js';
import { applyExceptions } from '../exceptions/findings.js';
import { COMPLIANCE_VIOLATIONS } from '../policy/entrypoints.js';
import { violationsAt } from './time-bound.js';
import { epochSeconds, type PolicyInput, type Violation } from '../policy/input.js';
import type { PolicyService } from '../policy/service.js';
import { coverageInput, isCatalogType, PERMISSION_TYPE, readCoverage } from '../sources/coverage.js';
import { readRunState } from '../sources/run-store.js';
import { catalogInput } from './catalog-input.js';
import { coverageOfRules, lfTagAssignments, type EvaluationRecord } from './evaluate.js';
import { lockCatalogEvaluations } from './catalog-requests.js';
import { carryOpenFindings, fingerprintOf, upsertFindings } from './findings-repository.js';

/**
 * Fresh verdicts: a committed change to the catalog (or to the grants the catalog rules read) is
 * evaluated at once, not at the next collection. How:
 *
 * - The change's own transaction writes a row in `catalog_evaluation_requests`
 *   (`requestCatalogEvaluation`, src/evaluation/catalog-requests.ts), so the request commits with the change or not at all.
 * - After the commit, the request that made the change runs the catalog evaluation before it answers
 *   (`CatalogEvaluator.evaluate`), so the findings and control statuses the caller reads next are the
 *   new ones. If the process dies in between, the row is still there: the sweep (every minute, and at
 *   start) evaluates it.
 * - Evaluations coalesce: one at a time across instances (an advisory lock), each covering every
 *   request committed before it started; per process at most one running and one waiting, however
 *   many changes arrive meanwhile.
 *
 * A catalog evaluation reads the whole catalog and, for the rules that judge Lake Formation permissions
 * against it, the permissions and LF-tags of the run the latest evaluation used; it is given no AWS
 * resources. So it opens and refreshes findings, but resolves only catalog findings (Custos:: types,
 * which it saw whole): never a finding about an AWS resource, which only a collection run can clear.
 */

export const CATALOG_EVALUATION_QUEUE = 'catalog-evaluation';
/** The sweep: requests left by a process that died before evaluating them. */
export const CATALOG_EVALUATION_SCHEDULE = { queue: CATALOG_EVALUATION_QUEUE, cron: '* * * * *' };
/** Who catalog evaluations are requested by. */
export const CATALOG_EVALUATOR = 'system:catalog';

/**
 * Evaluates the catalog rules over the current catalog, if any change is waiting. Returns the new
 * evaluation, or undefined when nothing was waiting, nothing was evaluated before (the first
 * evaluation of a run reads the whole catalog), or the catalog is the one the latest evaluation read
 * with the same bundle. Throws when the engine or database fails; the requests then stay for the sweep.
 */
export async function evaluateCatalog(db: Knex, policy: PolicyService): Promise<EvaluationRecord | undefined> {
  const { engine, bundleId } = policy.current();
  return db.transaction(async (trx) => {
    await lockCatalogEvaluations(trx);
    const pending = (await trx('catalog_evaluation_requests').select('id')).map((r: { id: string }) => r.id);
    if (pending.length === 0) return undefined;
    const done = async <T>(result: T) => {
      await trx('catalog_evaluation_requests').whereIn('id', pending).delete();
      return result;
    };
    const base: EvaluationRecord | undefined = await trx('evaluations').where({ status: 'complete' }).orderBy('finished_at', 'desc').first();
    if (!base) return done(undefined);
    const { catalog, sha256 } = await catalogInput(trx);
    if (base.catalog_sha256 === sha256 && base.bundle_revision === engine.revision) return done(undefined);

    // Read under the lock, like a full evaluation's finished_at: the latest evaluation is the last one written.
    const { rows } = await trx.raw('SELECT clock_timestamp() AS now');
    const now = new Date(rows[0].now).toISOString();
    const run = await trx('collection_runs').select('id', 'observed_at').where({ id: base.run_id }).first();
    const state = await readRunState(trx, base.run_id, ['permission', 'setting']);
    const input: PolicyInput = {
      now: epochSeconds(now),
      resources: [],
      findings: [],
      lake_formation: { permissions: state.permissions, lf_tag_assignments: lfTagAssignments(state.settings) },
      catalog,
      // The same shape as a run's evaluation, limited to what this input carries (the permissions):
      // claiming the run's other listings with no resources would make "no trail" out of nothing.
      coverage: coverageInput(await readCoverage(trx, base.run_id), (type) => type === PERMISSION_TYPE),
    };
    // What holds at this now (src/evaluation/time-bound.ts); only the catalog rules' are kept below.
    const all = violationsAt((await engine.evaluateLarge(COMPLIANCE_VIOLATIONS, input)).result as Violation[], input.now, engine.rules());
    const violations = await freshViolations(trx, all, run.observed_at);

    const [evaluation] = await trx('evaluations')
      .insert({ id: uuidv7(), run_id: base.run_id, status: 'running', trigger: 'catalog', requested_by: CATALOG_EVALUATOR, started_at: now })
      .returning('*');
    const reported = await upsertFindings(trx, evaluation.id, now, violations);
    const resolved = await resolveUnreportedCatalog(trx, evaluation.id, now);
    const carried = await carryOpenFindings(trx, evaluation.id);
    const excepted = await applyExceptions(trx, evaluation.id);
    // Catalog rules were tested now; every other rule stands as the evaluation of the run tested it.
    const catalogRules = engine.rules().filter((r) => r.resource_types.length > 0 && r.resource_types.every(isCatalogType));
    const ruleCoverage = { ...(base.rule_coverage ?? {}), ...(await coverageOfRules(trx, base.run_id, catalogRules, catalog)) };
    const [finished] = await trx('evaluations')
      .update({
        status: 'complete',
        bundle_id: bundleId,
        bundle_revision: engine.revision,
        catalog_sha256: sha256,
        run_partial: base.run_partial,
        rule_coverage: JSON.stringify(ruleCoverage),
        counts: JSON.stringify({ violations: reported.ids.length, new: reported.created, reopened: reported.reopened, resolved, carried, excepted }),
        finished_at: now,
      })
      .where({ id: evaluation.id })
      .returning('*');
    await recordEvaluationEvidence(trx, { evaluation: finished, observedAt: now, catalog: shippedCatalog(), rules: engine.rules() });
    return done(finished as EvaluationRecord);
  });
}

/**
 * The violations a catalog evaluation may report. One about an AWS resource whose finding was
 * resolved after the run it read was observed (a remediation verified the fix since) is left out:
 * the run's permissions are older than that fix, so they are no evidence against it.
 */
async function freshViolations(trx: Knex.Transaction, violations: Violation[], observedAt: string): Promise<Violation[]> {
  const aws = violations.filter((v) => !isCatalogType(v.resource.type));
  if (aws.length === 0) return violations;
  const fixed = new Set(
    (
      await trx('findings')
        .select('fingerprint')
        .whereIn('fingerprint', aws.map(fingerprintOf))
        .where({ status: 'resolved' })
        .where('resolved_at', '>', observedAt)
    ).map((r: { fingerprint: string }) => r.fingerprint),
  );
  return fixed.size ? violations.filter((v) => isCatalogType(v.resource.type) || !fixed.has(fingerprintOf(v))) : violations;
}

/** Resolves the open (or excepted) catalog findings this evaluation no longer reports: it read the whole catalog. */
async function resolveUnreportedCatalog(trx: Knex.Transaction, evaluationId: string, resolvedAt: string): Promise<number> {
  const { rowCount } = await trx.raw(
    `WITH resolved AS (
       UPDATE findings f SET status = 'resolved', resolved_at = :at
       WHERE f.status IN ('open', 'excepted') AND f.resource_type LIKE 'Custos::%'
         AND NOT EXISTS (SELECT 1 FROM evaluation_findings ef WHERE ef.evaluation_id = :evaluation AND ef.finding_id = f.id)
       RETURNING f.id
     )
     UPDATE finding_sightings s SET last_evaluation_id = :evaluation FROM resolved r WHERE s.finding_id = r.id`,
    { at: resolvedAt, evaluation: evaluationId },
  );
  return rowCount ?? 0;
}

/**
 * Runs catalog evaluations for one process: `evaluate()` resolves once an evaluation that started
 * after the call has finished (so a caller's committed change is in it). At most one runs and one
 * waits; every caller arriving meanwhile shares the waiting one. Never rejects: a failure is logged
 * and the requests stay for the sweep.
 */
export class CatalogEvaluator {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(
    private readonly db: Knex,
    private readonly policy: PolicyService,
    private readonly log: FastifyBaseLogger,
    private readonly after: (evaluation: EvaluationRecord) => Promise<void> = async () => {},
  ) {}

  evaluate(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    this.queued = this.running.then(() => {
      this.queued = undefined;
      return this.start();
    });
    return this.queued;
  }

  private start(): Promise<void> {
    const run = this.once().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async once(): Promise<void> {
    try {
      const evaluation = await evaluateCatalog(this.db, this.policy);
      if (!evaluation) return;
      this.log.info({ evaluation: evaluation.id, counts: evaluation.counts }, 'catalog change evaluated');
      await this.after(evaluation);
    } catch (error) {
      this.log.error({ err: (error as Error)?.message ?? String(error) }, 'catalog evaluation failed; the sweep retries it');
    }
  }
}
