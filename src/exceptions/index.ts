import type { QueueDefinition } from '../jobs/queue.js';
import { expireExceptions, EXPIRY_QUEUE, type ExceptionJobContext } from './expiry.js';

export { applyExceptions } from './findings.js';
export { expireExceptions, EXPIRY_QUEUE, queueReevaluation, type ExceptionJobContext } from './expiry.js';

/** The durable expiry sweep of exceptions; idempotent (it only acts on approved exceptions past expiry). */
export function exceptionQueues(context: ExceptionJobContext): QueueDefinition[] {
  return [{ name: EXPIRY_QUEUE, expireInSeconds: 600, handler: async () => void (await expireExceptions(context)) }];
}

/** Cron schedules of exceptions: the expiry sweep runs every minute. */
export const exceptionSchedules: Array<{ queue: string; cron: string }> = [{ queue: EXPIRY_QUEUE, cron: '* * * * *' }];

/** Routes of exceptions to findings (/v1/exceptions). */
export { default } from './routes.js';
