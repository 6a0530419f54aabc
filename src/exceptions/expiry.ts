import type { FastifyBaseLogger } from 'fastify';
import type { Knex } from 'knex';
import { recordAudit } from '../audit/repository.js';
import type { PolicyService } from '../policy/service.js';
import { recordExceptionEvidence } from './evidence.js';
import { reopenFindings } from './findings.js';
import { endException, EXCEPTIONS_ENTITY, exceptionView, EXPIRY_CONTEXT, type ExceptionRow } from './store.js';

export const EXPIRY_QUEUE = 'exception-expiry';

/** Queues an evaluation of a run on behalf of someone. */
export type EvaluateRun = (runId: string, requestedBy: string) => Promise<{ id: string }>;

export interface ExceptionJobContext {
  db: Knex;
  log: FastifyBaseLogger;
  policy: PolicyService;
  evaluateRun: EvaluateRun;
}

/**
 * After an exception is approved, revoked or expires, control status and evidence come from the
 * next evaluation: this queues one of the latest finished run (the one control status reads; an
 * older run would turn stale data into the latest evaluation). Idempotent: an evaluation of that run
 * still queued will see the change, so none is added; without a run there is nothing to evaluate.
 * The change itself is committed already, so a failure here is logged, not raised.
 */
export async function queueReevaluation(context: Pick<ExceptionJobContext, 'db' | 'log' | 'evaluateRun'>, requestedBy: string): Promise<string | undefined> {
  try {
    const run = await context.db('collection_runs').select('id').whereIn('status', ['complete', 'partial']).orderBy('id', 'desc').first();
    if (!run) return undefined;
    const queued = await context.db('evaluations').select('id').where({ run_id: run.id, status: 'queued' }).first();
    if (queued) return queued.id;
    return (await context.evaluateRun(run.id, requestedBy)).id;
  } catch (error) {
    context.log.warn({ err: (error as Error).message }, 're-evaluation after an exception change not queued; the next evaluation applies it');
    return undefined;
  }
}

const SWEEP_BATCH = 500;

/**
 * The expiry sweep (every minute): approved exceptions whose expiry has passed become `expired`,
 * their findings reopen flagged (exception_expired_at), each with its audit row and evidence, in one
 * transaction; then a re-evaluation is queued. Rows another sweep holds are skipped, not waited for.
 */
export async function expireExceptions(context: ExceptionJobContext): Promise<string[]> {
  const expired = await context.db.transaction(async (trx) => {
    const due: ExceptionRow[] = await trx('exceptions')
      .where({ status: 'approved' })
      .where('expires_at', '<=', trx.fn.now())
      .orderBy('expires_at')
      .limit(SWEEP_BATCH)
      .forUpdate()
      .skipLocked();
    for (const current of due) {
      const { view } = await endException(trx, current, { status: 'expired', actor: EXPIRY_CONTEXT.actor, note: null });
      const reopened = await reopenFindings(trx, current.id);
      await recordAudit(trx, EXPIRY_CONTEXT, { action: 'expire', entity: EXCEPTIONS_ENTITY, entityId: current.id, oldValue: exceptionView(current), newValue: { ...view, findings_changed: reopened.length } });
      await recordExceptionEvidence(trx, context.policy, { kind: 'expired', exception: view, findings: reopened });
    }
    return due.map((e) => e.id);
  });
  if (expired.length > 0) {
    context.log.info({ expired: expired.length }, 'exceptions expired');
    await queueReevaluation(context, EXPIRY_CONTEXT.actor);
  }
  return expired;
}
