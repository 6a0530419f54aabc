import type { QueueDefinition } from '../../jobs/queue.js';
import { APPLY_QUEUE, applyGrant, EXPIRY_QUEUE, REVOKE_QUEUE, revokeGrant, sweepExpiredGrants, type GrantJobContext } from './jobs.js';

export type { GrantJobContext, JobOutcome, JobSender } from './jobs.js';
export { APPLY_QUEUE, applyGrant, EXPIRY_QUEUE, REVOKE_QUEUE, revokeGrant, sweepExpiredGrants } from './jobs.js';
export { reconcile, type Reconciliation } from './reconcile.js';
export { approvedGrantsForPolicy } from './policy-input.js';

/**
 * Durable jobs of the grant workflow: apply a grant to Lake Formation, revoke it, and the expiry
 * sweep. Apply and revoke throw on failure (recorded on the grant first), so pg-boss retries them
 * with backoff; both are idempotent (ListPermissions before acting).
 */
export function grantQueues(context: GrantJobContext): QueueDefinition[] {
  return [
    { name: APPLY_QUEUE, expireInSeconds: 300, handler: async ({ grantId }) => void (await applyGrant(context, grantId!)) },
    { name: REVOKE_QUEUE, expireInSeconds: 300, handler: async ({ grantId }) => void (await revokeGrant(context, grantId!)) },
    { name: EXPIRY_QUEUE, expireInSeconds: 600, handler: async () => void (await sweepExpiredGrants(context)) },
  ];
}

/** Cron schedules of the grant workflow: { queue, cron }. The expiry sweep runs every minute. */
export const grantSchedules: Array<{ queue: string; cron: string }> = [{ queue: EXPIRY_QUEUE, cron: '* * * * *' }];

/** Routes of the grant workflow (/v1/access/requests, /v1/access/grants, /v1/access/reconcile). */
export { default } from './routes.js';
