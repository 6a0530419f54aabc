import type { QueueDefinition } from '../jobs/queue.js';
import { EXECUTE_QUEUE, executeRemediation, RESUME_QUEUE, resumeInterrupted, ROLLBACK_QUEUE, rollbackRemediation, type RemediationJobContext } from './jobs.js';

export { autoRemediate } from './auto.js';
export { EXECUTE_QUEUE, executeRemediation, RESUME_QUEUE, resumeInterrupted, ROLLBACK_QUEUE, rollbackRemediation, type RemediationJobContext } from './jobs.js';

/**
 * Durable jobs of remediation: execute a plan, roll it back, and the sweep that resumes executions
 * whose process died. Steps are idempotent per resource (see jobs.ts), so pg-boss may retry freely.
 */
export function remediationQueues(context: RemediationJobContext): QueueDefinition[] {
  return [
    { name: EXECUTE_QUEUE, expireInSeconds: 1800, handler: async ({ remediationId }) => executeRemediation(context, remediationId!) },
    { name: ROLLBACK_QUEUE, expireInSeconds: 1800, handler: async ({ remediationId }) => rollbackRemediation(context, remediationId!) },
    { name: RESUME_QUEUE, expireInSeconds: 1800, handler: async () => void (await resumeInterrupted(context)) },
  ];
}

/** The resume sweep runs every minute, and once at start-up (see src/jobs/workflows.ts). */
export const remediationSchedules: Array<{ queue: string; cron: string }> = [{ queue: RESUME_QUEUE, cron: '* * * * *' }];

/** Routes of remediation (/v1/remediations, /v1/remediation-actions). */
export { default } from './routes.js';
