import type { FastifyBaseLogger } from 'fastify';
import type { Knex } from 'knex';
import type { JobSender } from '../access/grants/index.js';
import type { AuditContext } from '../audit/repository.js';
import { describeAwsError } from '../sources/aws.js';
import { assertSourceIdentity } from './aws.js';
import { actionNamed, sameState, type ActionContext, type AwsSettings, type RemediationAction, type StepResult } from './actions/index.js';
import {
  auditStep,
  changeRemediation,
  changeResource,
  getRemediation,
  remediationEvidence,
  resourcesOf,
  sourceById,
  SYSTEM_CONTEXT,
  upsertStep,
  type RemediationRow,
  type RemediationStatus,
  type ResourceRow,
  type ResourceStatus,
  type StepKey,
  type StepRow,
} from './store.js';

export const EXECUTE_QUEUE = 'remediation-execute';
export const ROLLBACK_QUEUE = 'remediation-rollback';
export const RESUME_QUEUE = 'remediation-resume';

/** What the remediation jobs need from the service. */
export interface RemediationJobContext {
  db: Knex;
  log: FastifyBaseLogger;
  aws: AwsSettings;
  /** Test-only pause before each AWS change (CUSTOS_REMEDIATION_STEP_DELAY_MS), so a crash can land mid-execution. */
  stepDelayMs: number;
  send: JobSender;
}

/**
 * Runs `work` only if no other job (in any instance) is working on the remediation: a transaction
 * holds an advisory lock for as long as the work runs. A process that dies releases it with its
 * connection, so the resume sweep can take over at once.
 */
async function exclusively(db: Knex, id: string, work: () => Promise<void>): Promise<boolean> {
  return db.transaction(async (lock) => {
    const { rows } = await lock.raw('SELECT pg_try_advisory_xact_lock(hashtext(?)) AS locked', [`custos:remediation:${id}`]);
    if (!rows[0].locked) return false;
    await work();
    return true;
  });
}

interface StepSpec {
  step: 'apply' | 'rollback' | 'finalize';
  call: (context: ActionContext, resource: ResourceRow) => Promise<StepResult>;
  /** Whether the resource, read now, shows the step already took effect. */
  done: (state: Record<string, unknown>, resource: ResourceRow) => boolean;
  during?: ResourceStatus;
  after: ResourceStatus;
  failed: ResourceStatus;
}

const pause = (ms: number) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

async function actionContext(context: RemediationJobContext, remediation: RemediationRow, resource: ResourceRow): Promise<ActionContext> {
  const source = await sourceById(context.db, resource.source_id);
  await assertSourceIdentity(source, context.aws);
  return { db: context.db, source, aws: context.aws, params: remediation.params, remediationId: remediation.id };
}

/**
 * One step on one resource, at most once: the step is recorded as started (committed) before AWS is
 * called, under an idempotency key per resource and step. A step found started or failed (the job
 * died, or the call failed after reaching AWS) is checked against the resource's state first, and
 * only called again if it did not take effect. A succeeded step is never repeated.
 */
async function runStep(context: RemediationJobContext, remediation: RemediationRow, resource: ResourceRow, action: RemediationAction, spec: StepSpec): Promise<boolean> {
  const { db } = context;
  const key: StepKey = { remediation_id: remediation.id, resource_row_id: resource.id, step: spec.step, idempotency_key: `${resource.id}:${spec.step}` };
  const existing: StepRow | undefined = await db('remediation_steps').where({ idempotency_key: key.idempotency_key }).first();
  if (existing?.status === 'succeeded') return true;
  let target: ActionContext | undefined;
  const finish = (result: StepResult, confirmedOnResume: boolean) =>
    db.transaction(async (trx) => {
      await upsertStep(trx, key, { status: 'succeeded', request_ids: result.requestIds, confirmed_on_resume: confirmedOnResume, error: null, finished_at: new Date().toISOString() });
      const updated = await changeResource(trx, resource.id, { status: spec.after, error: null, aws_request_ids: [...resource.aws_request_ids, ...result.requestIds] });
      const detail = { step: spec.step, request_ids: result.requestIds, confirmed_on_resume: confirmedOnResume };
      await auditStep(trx, SYSTEM_CONTEXT, remediation, updated, spec.step, detail);
      await remediationEvidence(trx, remediation, spec.step, { resource: { resource_type: resource.resource_type, resource_id: resource.resource_id, before: resource.before, after: resource.after, status: updated.status }, ...detail });
    });
  try {
    // Checks the assumed identity first: a refusal fails the step before anything is read or changed.
    target = await actionContext(context, remediation, resource);
    if (existing) {
      const state = await action.read(target, resource);
      if (spec.done(state, resource)) {
        await finish({ requestIds: [] }, true);
        return true;
      }
    }
    await db.transaction(async (trx) => {
      await upsertStep(trx, key, {
        status: 'started',
        attempts: (existing?.attempts ?? 0) + 1,
        error: null,
        started_at: new Date().toISOString(),
        finished_at: null,
      });
      const updated = spec.during ? await changeResource(trx, resource.id, { status: spec.during }) : resource;
      await auditStep(trx, SYSTEM_CONTEXT, remediation, updated, `${spec.step}_started`, { step: spec.step, idempotency_key: key.idempotency_key, attempt: (existing?.attempts ?? 0) + 1 });
    });
    await pause(context.stepDelayMs);
    await finish(await spec.call(target, resource), false);
    return true;
  } catch (error) {
    const message = describeAwsError(`${action.name} ${spec.step} of ${resource.resource_id}`, error);
    await db.transaction(async (trx) => {
      await upsertStep(trx, key, {
        status: 'failed',
        error: message,
        finished_at: new Date().toISOString(),
      });
      const updated = await changeResource(trx, resource.id, { status: spec.failed, error: message });
      await auditStep(trx, SYSTEM_CONTEXT, remediation, updated, `${spec.step}_failed`, { step: spec.step, error: message });
      await remediationEvidence(trx, remediation, `${spec.step}_failed`, { resource: { resource_type: resource.resource_type, resource_id: resource.resource_id }, error: message });
    });
    context.log.warn({ remediation: remediation.id, step: spec.step, err: message }, 'remediation step failed');
    return false;
  }
}

/** Reads the resource back; verified when it is in the planned state. Then the action's finalize, if any. */
async function verifyResource(context: RemediationJobContext, remediation: RemediationRow, resource: ResourceRow, action: RemediationAction): Promise<void> {
  const { db } = context;
  const key: StepKey = { remediation_id: remediation.id, resource_row_id: resource.id, step: 'verify', idempotency_key: `${resource.id}:verify` };
  const existing: StepRow | undefined = await db('remediation_steps').where({ idempotency_key: key.idempotency_key }).first();
  let ok = false;
  let error: string | null = null;
  try {
    ok = await action.verify(await actionContext(context, remediation, resource), resource, resource);
    if (!ok) error = 'read back, the resource is not in the planned state';
  } catch (e) {
    error = describeAwsError(`${action.name} verify of ${resource.resource_id}`, e);
  }
  await db.transaction(async (trx) => {
    await upsertStep(trx, key, {
      status: ok ? 'succeeded' : 'failed',
      attempts: (existing?.attempts ?? 0) + 1,
      error,
      ...(existing ? {} : { started_at: new Date().toISOString() }),
      finished_at: new Date().toISOString(),
    });
    const updated = await changeResource(trx, resource.id, { status: ok ? 'verified' : 'verify_failed', error });
    await auditStep(trx, SYSTEM_CONTEXT, remediation, updated, ok ? 'verify' : 'verify_failed', { error });
    await remediationEvidence(trx, remediation, ok ? 'verify' : 'verify_failed', { resource: { resource_type: resource.resource_type, resource_id: resource.resource_id, after: resource.after }, error });
  });
  if (ok && action.finalize) {
    const finalize = action.finalize.bind(action);
    await runStep(context, remediation, resource, action, { step: 'finalize', call: (c, r) => finalize(c, r, r), done: (state, r) => sameState(state, r.after), after: 'verified', failed: 'verify_failed' });
  }
}

/** Moves the remediation to `status` (with its audit row and evidence) unless it is already there. */
async function settle(context: RemediationJobContext, id: string, status: RemediationStatus, lastError: string | null, event: string, outcome: Record<string, unknown>) {
  await context.db.transaction(async (trx) => {
    const current = (await getRemediation(trx, id, true))!;
    if (current.status === status && current.last_error === lastError) return;
    const updated = await changeRemediation(trx, current, { status, last_error: lastError }, { context: SYSTEM_CONTEXT, action: event, detail: outcome });
    await remediationEvidence(trx, updated, event, outcome);
  });
}

const outcomeOf = (resources: ResourceRow[]) => ({ resources: resources.map((r) => ({ resource_id: r.resource_id, status: r.status, error: r.error, aws_request_ids: r.aws_request_ids })) });

function firstErrors(resources: ResourceRow[], statuses: ResourceStatus[]): string | null {
  const failed = resources.filter((r) => statuses.includes(r.status));
  return failed.length ? `${failed.length} of ${resources.length} resources: ${failed[0]!.resource_id}: ${failed[0]!.error ?? failed[0]!.status}` : null;
}

/**
 * The execution job: applies each resource not yet applied (at most once each, see runStep), then
 * verifies what was applied. Ends `verified` when every resource reads back as planned, `applied`
 * when some cannot be verified yet, `partially_applied` when some failed and others succeeded,
 * `failed` when none succeeded. The finding itself is resolved only by the next evaluation.
 */
export async function executeRemediation(context: RemediationJobContext, id: string): Promise<void> {
  await exclusively(context.db, id, async () => {
    const remediation = await getRemediation(context.db, id);
    if (remediation?.status !== 'executing') return;
    const action = actionNamed(remediation.action);
    for (const resource of await resourcesOf(context.db, id)) {
      if (!['planned', 'applying', 'failed'].includes(resource.status)) continue;
      await runStep(context, remediation, resource, action, {
        step: 'apply',
        call: (c, r) => action.apply(c, r, r),
        done: (state, r) => action.applied(state, r),
        during: 'applying',
        after: 'applied',
        failed: 'failed',
      });
    }
    const verifyApplied = async () => {
      for (const resource of await resourcesOf(context.db, id)) {
        if (resource.status === 'applied' || resource.status === 'verify_failed') await verifyResource(context, remediation, resource, action);
      }
      return resourcesOf(context.db, id);
    };
    const afterApply = await resourcesOf(context.db, id);
    const failed = afterApply.filter((r) => r.status === 'failed').length;
    if (failed > 0) {
      // Verified before the status says so, so a partially applied plan shows final per-resource outcomes.
      const resources = await verifyApplied();
      const status: RemediationStatus = failed < resources.length ? 'partially_applied' : 'failed';
      await settle(context, id, status, firstErrors(resources, ['failed']), status, outcomeOf(resources));
      return;
    }
    await settle(context, id, 'applied', null, 'applied', outcomeOf(afterApply));
    const resources = await verifyApplied();
    const unverified = firstErrors(resources, ['verify_failed']);
    await settle(context, id, unverified ? 'applied' : 'verified', unverified, unverified ? 'verify_failed' : 'verified', outcomeOf(resources));
  });
}

/** Whether a failed apply reached AWS after all (the resource reads as planned): then it is rolled back too. */
async function tookEffect(context: RemediationJobContext, remediation: RemediationRow, resource: ResourceRow, action: RemediationAction): Promise<boolean> {
  try {
    return action.applied(await action.read(await actionContext(context, remediation, resource), resource), resource);
  } catch {
    return false;
  }
}

/** The rollback job: restores `before` on every resource that was changed, at most once each. */
export async function rollbackRemediation(context: RemediationJobContext, id: string): Promise<void> {
  await exclusively(context.db, id, async () => {
    const remediation = await getRemediation(context.db, id);
    if (remediation?.status !== 'rolling_back') return;
    const action = actionNamed(remediation.action);
    const rollback = action.rollback?.bind(action);
    if (!rollback) return;
    for (const resource of await resourcesOf(context.db, id)) {
      const changed = ['applied', 'verified', 'verify_failed', 'rolling_back', 'rollback_failed'].includes(resource.status) || (resource.status === 'failed' && (await tookEffect(context, remediation, resource, action)));
      if (!changed) continue;
      await runStep(context, remediation, resource, action, {
        step: 'rollback',
        call: (c, r) => rollback(c, r, r),
        done: (state, r) => action.rolledBack(state, r),
        during: 'rolling_back',
        after: 'rolled_back',
        failed: 'rollback_failed',
      });
    }
    const resources = await resourcesOf(context.db, id);
    const error = firstErrors(resources, ['rollback_failed']);
    await settle(context, id, error ? 'rollback_failed' : 'rolled_back', error, error ? 'rollback_failed' : 'rolled_back', outcomeOf(resources));
  });
}

/** Marks a remediation executing (audit row and evidence in the caller's transaction); enqueue after commit. */
export async function startExecution(trx: Knex.Transaction, current: RemediationRow, who: AuditContext): Promise<RemediationRow> {
  const updated = await changeRemediation(trx, current, { status: 'executing', last_error: null }, { context: who, action: 'execute' });
  await remediationEvidence(trx, updated, 'execution_started', { actor: who.actor, from_status: current.status });
  return updated;
}

export const enqueueExecution = (context: Pick<RemediationJobContext, 'send'>, remediation: RemediationRow) =>
  context.send(EXECUTE_QUEUE, { remediationId: remediation.id }, `${EXECUTE_QUEUE}:${remediation.id}:${remediation.version}`);
export const enqueueRollback = (context: Pick<RemediationJobContext, 'send'>, remediation: RemediationRow) =>
  context.send(ROLLBACK_QUEUE, { remediationId: remediation.id }, `${ROLLBACK_QUEUE}:${remediation.id}:${remediation.version}`);

/**
 * Picks up executions and rollbacks whose job died with its process (at start-up and every minute):
 * any remediation executing or rolling back that no job holds the lock of is resumed here.
 */
export async function resumeInterrupted(context: RemediationJobContext): Promise<string[]> {
  const pending: Array<{ id: string; status: string }> = await context.db('remediations').whereIn('status', ['executing', 'rolling_back']).orderBy('id').limit(100).select('id', 'status');
  for (const { id, status } of pending) await (status === 'executing' ? executeRemediation : rollbackRemediation)(context, id);
  if (pending.length) context.log.info({ remediations: pending.map((p) => p.id) }, 'remediation resume sweep');
  return pending.map((p) => p.id);
}
