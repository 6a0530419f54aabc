import type { FastifyBaseLogger } from 'fastify';
import type { Knex } from 'knex';
import { recordAudit } from '../../audit/repository.js';
import { describeAwsError } from '../../sources/aws.js';
import { grantPermissions, heldPermissions, lakeFormationClient, revokePermissions } from './lakeformation.js';
import { changeGrant, EXPIRY_ACTOR, GRANTS_ENTITY, LIVE_GRANT_STATUSES, permissionIdentity, SYSTEM_CONTEXT, type GrantRow, type LakeFormationRecord } from './store.js';

export const APPLY_QUEUE = 'access-grant-apply';
export const REVOKE_QUEUE = 'access-grant-revoke';
export const EXPIRY_QUEUE = 'access-grant-expiry';

export type JobSender = (queue: string, data: Record<string, string>, key: string) => Promise<void>;

/** What the grant workflow needs from the service to run its jobs. */
export interface GrantJobContext {
  db: Knex;
  log: FastifyBaseLogger;
  awsEndpointUrl?: string;
  awsMaxAttempts: number;
  /** Enqueues a job; when absent, the sender registered for `db` by the routes is used. */
  send?: JobSender;
}

// The job context built in src/jobs/workflows.ts carries no way to enqueue; the routes, which run
// in the same service, register app.jobs.send for their database here.
const senders = new WeakMap<Knex, JobSender>();

export function registerSender(db: Knex, send: JobSender): void {
  senders.set(db, send);
}

/** Enqueues a job, or runs it here when this process has no queue to put it on. */
async function enqueueOrRun(context: GrantJobContext, queue: typeof APPLY_QUEUE | typeof REVOKE_QUEUE, grantId: string): Promise<void> {
  const send = context.send ?? senders.get(context.db);
  if (send) return send(queue, { grantId }, `${queue}:${grantId}`);
  try {
    await (queue === APPLY_QUEUE ? applyGrant : revokeGrant)(context, grantId);
  } catch (error) {
    // Recorded on the grant (last_error); the next sweep or a retry picks it up again.
    context.log.warn({ grant: grantId, err: (error as Error).message }, `${queue} failed`);
  }
}

export const enqueueApply = (context: GrantJobContext, grantId: string) => enqueueOrRun(context, APPLY_QUEUE, grantId);
export const enqueueRevoke = (context: GrantJobContext, grantId: string) => enqueueOrRun(context, REVOKE_QUEUE, grantId);

/**
 * Serialises all work on one Lake Formation permission (source, principal, resource) across jobs
 * and instances until the transaction ends: an apply and a revoke of grants for the same permission
 * never interleave their ListPermissions and Grant/Revoke calls.
 */
async function lockPermission(trx: Knex.Transaction, grant: GrantRow): Promise<void> {
  await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`custos:access-grant:${permissionIdentity(grant) ?? grant.id}`]);
}

export interface JobOutcome {
  grant: GrantRow | undefined;
  /** What happened: applied, already_present, no_resource, revoked, already_absent, skipped, failed. */
  outcome: string;
}

const now = () => new Date().toISOString();
const appendIds = (grant: GrantRow, id: string | null | undefined) => (id ? [...grant.aws_request_ids, id] : grant.aws_request_ids);

/**
 * Reads which of the grant's permissions Lake Formation holds, then grants or revokes the ones
 * `select` picks from them (none: no call). A failure does not throw: it comes back described with
 * the operation it hit, so the caller records it on the grant before rethrowing.
 */
async function changePermissions(
  context: GrantJobContext,
  where: { source: NonNullable<LakeFormationRecord['source']>; resource: NonNullable<LakeFormationRecord['resource']>; catalogId: string },
  grant: GrantRow,
  change: 'grant' | 'revoke',
  select: (held: Set<string>) => string[],
): Promise<{ held: Set<string>; changed: string[]; requestId?: string; error?: { message: string; cause: unknown } }> {
  const { source, resource, catalogId } = where;
  const client = lakeFormationClient(source, { endpoint: context.awsEndpointUrl, maxAttempts: context.awsMaxAttempts });
  let held = new Set<string>();
  let operation = 'lakeformation:ListPermissions';
  try {
    held = await heldPermissions(client, catalogId, grant.principal, resource, grant.permissions);
    const changed = select(held);
    if (changed.length === 0) return { held, changed };
    operation = change === 'grant' ? 'lakeformation:GrantPermissions' : 'lakeformation:RevokePermissions';
    const requestId = await (change === 'grant' ? grantPermissions : revokePermissions)(client, catalogId, grant.principal, resource, changed);
    return { held, changed, requestId };
  } catch (cause) {
    return { held, changed: [], error: { message: describeAwsError(operation, cause), cause } };
  } finally {
    client.destroy();
  }
}

/**
 * Applies a grant in pending_apply to Lake Formation: GrantPermissions for what is not already
 * there (ListPermissions first, so a repeated job never grants twice), then active. A failure
 * stays pending_apply with last_error and one more attempt, and is rethrown so the job retries.
 */
export async function applyGrant(context: GrantJobContext, grantId: string): Promise<JobOutcome> {
  const { db } = context;
  let failure: unknown;
  const result = await db.transaction(async (trx): Promise<JobOutcome> => {
    const first: GrantRow | undefined = await trx('access_grants').where({ id: grantId }).first();
    if (!first) return { grant: undefined, outcome: 'skipped' };
    await lockPermission(trx, first);
    const grant: GrantRow = (await trx('access_grants').where({ id: grantId }).first())!;
    if (grant.status !== 'pending_apply') return { grant, outcome: 'skipped' };
    // A grant whose period ended before it was applied is the expiry sweep's to close.
    if (Date.parse(grant.expires_at) <= Date.now()) return { grant, outcome: 'skipped' };
    const lf = grant.lake_formation;

    if (!lf?.source || !lf.resource) {
      const updated = await changeGrant(
        trx,
        grant,
        { status: 'active', attempts: grant.attempts + 1, last_error: null, lake_formation: { ...(lf ?? { source: null, catalog_id: null, resource: null, permissions: grant.permissions }), applied_at: now() } },
        { context: SYSTEM_CONTEXT, action: 'apply' },
      );
      return { grant: updated, outcome: 'no_resource' };
    }

    const { changed: granted, requestId, error } = await changePermissions(context, { source: lf.source, resource: lf.resource, catalogId: lf.catalog_id ?? lf.source.account_id }, grant, 'grant', (held) => grant.permissions.filter((p) => !held.has(p)));
    failure = error?.cause;

    // Re-read: the grant may have been revoked while Lake Formation answered.
    const fresh: GrantRow = (await trx('access_grants').where({ id: grantId }).forUpdate().first())!;
    if (error) {
      const updated = await changeGrant(trx, fresh, { attempts: fresh.attempts + 1, last_error: error.message }, { context: SYSTEM_CONTEXT, action: 'apply_failed' });
      return { grant: updated, outcome: 'failed' };
    }
    const record: LakeFormationRecord = { ...lf, applied_at: now(), grant_request_id: requestId ?? null, already_present: granted.length === 0, granted_permissions: granted };
    const updated = await changeGrant(
      trx,
      fresh,
      {
        // Revoked meanwhile: the revocation job takes the same lock and removes what was granted here.
        ...(fresh.status === 'pending_apply' ? { status: 'active' as const } : {}),
        attempts: fresh.attempts + 1,
        last_error: null,
        lake_formation: record,
        aws_request_ids: appendIds(fresh, requestId),
      },
      { context: SYSTEM_CONTEXT, action: 'apply' },
    );
    return { grant: updated, outcome: granted.length === 0 ? 'already_present' : 'applied' };
  });
  if (failure) throw failure;
  return result;
}

/**
 * Revokes a grant in pending_revoke: RevokePermissions for the permissions Lake Formation still
 * holds and no other live grant of the same principal needs on the same resource; then revoked, or
 * expired when the expiry sweep asked. Already gone: just marked. Failures as for applyGrant.
 */
export async function revokeGrant(context: GrantJobContext, grantId: string): Promise<JobOutcome> {
  const { db } = context;
  let failure: unknown;
  const result = await db.transaction(async (trx): Promise<JobOutcome> => {
    const first: GrantRow | undefined = await trx('access_grants').where({ id: grantId }).first();
    if (!first) return { grant: undefined, outcome: 'skipped' };
    await lockPermission(trx, first);
    const grant: GrantRow = (await trx('access_grants').where({ id: grantId }).first())!;
    if (grant.status !== 'pending_revoke') return { grant, outcome: 'skipped' };
    const lf = grant.lake_formation;
    const finalStatus = lf?.revocation?.reason === 'expired' ? ('expired' as const) : ('revoked' as const);

    if (!lf?.source || !lf.resource) {
      const updated = await changeGrant(
        trx,
        grant,
        { status: finalStatus, revoked_at: now(), attempts: grant.attempts + 1, last_error: null, lake_formation: lf ? { ...lf, revoke_completed_at: now() } : null },
        { context: SYSTEM_CONTEXT, action: 'revoke' },
      );
      return { grant: updated, outcome: 'no_resource' };
    }

    // Another live grant for the same permission keeps what it needs.
    const identity = permissionIdentity(grant);
    const others: GrantRow[] = await trx('access_grants').where({ principal: grant.principal }).whereIn('status', LIVE_GRANT_STATUSES).whereNot({ id: grant.id });
    const retained = new Set(others.filter((o) => permissionIdentity(o) === identity).flatMap((o) => o.permissions));

    const { changed: revoked, held, requestId, error } = await changePermissions(context, { source: lf.source, resource: lf.resource, catalogId: lf.catalog_id ?? lf.source.account_id }, grant, 'revoke', (h) => grant.permissions.filter((p) => h.has(p) && !retained.has(p)));
    failure = error?.cause;

    const fresh: GrantRow = (await trx('access_grants').where({ id: grantId }).forUpdate().first())!;
    if (error) {
      const updated = await changeGrant(trx, fresh, { attempts: fresh.attempts + 1, last_error: error.message }, { context: SYSTEM_CONTEXT, action: 'revoke_failed' });
      return { grant: updated, outcome: 'failed' };
    }
    const record: LakeFormationRecord = {
      ...lf,
      revoke_completed_at: now(),
      revoke_request_id: requestId ?? null,
      revoked_permissions: revoked,
      retained_permissions: grant.permissions.filter((p) => held.has(p) && retained.has(p)),
      already_absent: grant.permissions.every((p) => !held.has(p)),
    };
    const updated = await changeGrant(
      trx,
      fresh,
      { status: finalStatus, revoked_at: now(), attempts: fresh.attempts + 1, last_error: null, lake_formation: record, aws_request_ids: appendIds(fresh, requestId) },
      { context: SYSTEM_CONTEXT, action: 'revoke' },
    );
    return { grant: updated, outcome: revoked.length > 0 ? 'revoked' : 'already_absent' };
  });
  if (failure) throw failure;
  return result;
}

/** How long a grant may sit in pending_revoke without progress before the sweep queues it again. */
const STALLED_MINUTES = 15;
const SWEEP_BATCH = 500;

/**
 * The expiry sweep (every minute): active or not-yet-applied grants whose period has ended become
 * pending_revoke and are queued for revocation (they end `expired`). It also queues again
 * revocations that stalled (their jobs ran out of retries) and applications that were approved but
 * never attempted (the enqueue after approval was lost), so nothing stays half-done.
 */
export async function sweepExpiredGrants(context: GrantJobContext): Promise<{ expired: string[]; requeued: string[] }> {
  const { db } = context;
  const expired = await db.transaction(async (trx) => {
    const due: GrantRow[] = await trx('access_grants')
      .whereIn('status', LIVE_GRANT_STATUSES)
      .where('expires_at', '<=', trx.fn.now())
      .orderBy('expires_at')
      .limit(SWEEP_BATCH)
      .forUpdate()
      .skipLocked();
    for (const grant of due) {
      const revocation = { reason: 'expired' as const, requested_by: EXPIRY_ACTOR, requested_at: now(), comment: null };
      await changeGrant(
        trx,
        grant,
        { status: 'pending_revoke', revoked_by: EXPIRY_ACTOR, lake_formation: { ...(grant.lake_formation ?? { source: null, catalog_id: null, resource: null, permissions: grant.permissions }), revocation } },
        { context: { ...SYSTEM_CONTEXT, actor: EXPIRY_ACTOR }, action: 'expire' },
      );
    }
    return due.map((g) => g.id);
  });

  const stalledRevocations: Array<{ id: string }> = await db('access_grants')
    .where({ status: 'pending_revoke' })
    .whereRaw(`updated_at < now() - make_interval(mins => ?)`, [STALLED_MINUTES])
    .limit(SWEEP_BATCH)
    .select('id');
  const neverApplied: Array<{ id: string }> = await db('access_grants')
    .where({ status: 'pending_apply', attempts: 0 })
    .whereRaw(`updated_at < now() - make_interval(mins => ?)`, [STALLED_MINUTES])
    .limit(SWEEP_BATCH)
    .select('id');

  for (const id of expired) await enqueueRevoke(context, id);
  for (const { id } of stalledRevocations) await enqueueRevoke(context, id);
  for (const { id } of neverApplied) await enqueueApply(context, id);
  const requeued = [...stalledRevocations, ...neverApplied].map((g) => g.id);
  if (expired.length + requeued.length > 0) context.log.info({ expired: expired.length, requeued: requeued.length }, 'access grant sweep');
  return { expired, requeued };
}

/** For the audit trail of API actions on grants that do not change them (a retry). */
export async function auditGrantAction(trx: Knex.Transaction, context: Parameters<typeof recordAudit>[1], grant: GrantRow, action: string): Promise<void> {
  await recordAudit(trx, context, { action, entity: GRANTS_ENTITY, entityId: grant.id, newValue: { status: grant.status, attempts: grant.attempts, last_error: grant.last_error } });
}
