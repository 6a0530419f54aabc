import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { shippedCatalog } from '../controls/catalog.js';
import { recordEvaluationEvidence } from '../evidence/evaluation-evidence.js';
import { applyExceptions } from '../exceptions/findings.js';
import { HttpProblem } from '../http/problem.js';
import { COMPLIANCE_VIOLATIONS } from '../policy/entrypoints.js';
import { epochSeconds, type PolicyInput, type Violation } from '../policy/input.js';
import type { PolicyService } from '../policy/service.js';
import { readRunState } from '../sources/run-store.js';
import { catalogInput } from './catalog-input.js';
import { resolveUnreported, upsertFindings } from './findings-repository.js';

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
  counts: Record<string, number>;
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
 * Evaluates the active bundle over a run's state and the metadata repository, then updates the
 * findings. `now` is when the run observed the estate, so the same run, bundle and catalog always
 * give the same findings. A partial run opens and refreshes findings but resolves none: what was
 * not seen is not evidence of a fix.
 */
export async function runEvaluation(db: Knex, policy: PolicyService, evaluationId: string): Promise<EvaluationRecord> {
  const evaluation: EvaluationRecord = await db('evaluations').where({ id: evaluationId }).first();
  if (!evaluation || evaluation.status === 'complete') return evaluation;
  await db('evaluations').update({ status: 'running', started_at: db.fn.now(), error: null }).where({ id: evaluationId });
  try {
    const run = await db('collection_runs').where({ id: evaluation.run_id }).first();
    const { engine, bundleId } = policy.current();
    const state = await readRunState(db, run.id);
    const { catalog, sha256 } = await catalogInput(db);
    const input: PolicyInput = {
      now: epochSeconds(run.observed_at),
      resources: state.resources,
      findings: state.findings,
      lake_formation: { permissions: state.permissions },
      catalog,
    };
    const violations = (await engine.evaluateLarge(COMPLIANCE_VIOLATIONS, input)).result as Violation[];
    const partial = run.status === 'partial';
    return await db.transaction(async (trx) => {
      await trx('evaluation_findings').where({ evaluation_id: evaluationId }).delete();
      const reported = await upsertFindings(trx, evaluationId, run.observed_at, violations);
      // Approved, unexpired exceptions turn what they cover excepted, recorded per evaluation.
      const excepted = await applyExceptions(trx, evaluationId);
      const scope = partial ? [] : await runScope(trx, run.id);
      const resolved = await resolveUnreported(trx, evaluationId, run.observed_at, scope);
      const [done] = await trx('evaluations')
        .update({
          status: 'complete',
          bundle_id: bundleId,
          bundle_revision: engine.revision,
          catalog_sha256: sha256,
          run_partial: partial,
          counts: JSON.stringify({ violations: reported.ids.length, new: reported.created, reopened: reported.reopened, resolved, excepted }),
          finished_at: trx.fn.now(),
        })
        .where({ id: evaluationId })
        .returning('*');
      // The evaluation's evidence commits with it: no result without its evidence, and none twice.
      await recordEvaluationEvidence(trx, { evaluation: done, observedAt: run.observed_at, catalog: shippedCatalog(), rules: engine.rules() });
      return done;
    });
  } catch (error) {
    const message = error instanceof HttpProblem ? error.detail : String((error as { message?: unknown })?.message ?? error);
    const [failed] = await db('evaluations').update({ status: 'failed', error: message, finished_at: db.fn.now() }).where({ id: evaluationId }).returning('*');
    return failed;
  }
}

/** The accounts and regions a run looked at, plus account-level ('' region) and catalog ('', '') findings. */
async function runScope(db: Knex, runId: string): Promise<Array<{ account: string; region: string }>> {
  const pairs: Array<{ account: string; region: string }> = await db('run_items').distinct('account', 'region').where({ run_id: runId });
  const sources: Array<{ account_id: string; region: string }> = await db('sources')
    .select('account_id', 'region')
    .whereIn('id', db('collection_runs').select(db.raw('jsonb_array_elements_text(source_ids)::uuid')).where({ id: runId }));
  const scope = new Map<string, { account: string; region: string }>();
  const add = (account: string, region: string) => scope.set(`${account}\u0000${region}`, { account, region });
  for (const p of [...pairs, ...sources.map((s) => ({ account: s.account_id, region: s.region }))]) {
    add(p.account, p.region);
    add(p.account, '');
  }
  add('', '');
  return [...scope.values()];
}
