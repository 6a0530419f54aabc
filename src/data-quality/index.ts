import { deadLetterError, gaveUpError } from '../jobs/gave-up.js';
import type { QueueDefinition } from '../jobs/queue.js';
import { executeRun, giveUpRun } from './runs.js';
import { queueScheduledRuns, RUN_QUEUE, SCHEDULE_QUEUE, type DataQualityJobContext } from './schedule.js';

export { RUN_QUEUE, SCHEDULE_QUEUE, type DataQualityJobContext } from './schedule.js';

/** A run whose every attempt failed, or whose last attempt expired (pg-boss dead letter of `data-quality-run`): it ends `failed`. */
export const RUN_GAVE_UP_QUEUE = 'data-quality-run-gave-up';
/** Attempts at a run before it ends `failed` (pg-boss retries: one less); a retry skips the rules already done. */
export const RUN_ATTEMPTS = 3;

/**
 * The durable jobs of data quality: a run (idempotent: done rules are skipped on retry), its dead
 * letter (the dead letter queue first: the queue naming it needs it to exist), and the cron sweep.
 */
export function dataQualityQueues(context: DataQualityJobContext): QueueDefinition[] {
  return [
    {
      name: RUN_GAVE_UP_QUEUE,
      expireInSeconds: 600,
      handler: async ({ runId }, meta) => {
        context.log?.error({ runId, err: deadLetterError(meta) }, 'data quality run gave up');
        await giveUpRun(context.db, runId!, gaveUpError('data quality run', meta));
      },
    },
    {
      name: RUN_QUEUE,
      expireInSeconds: 3600,
      retryLimit: RUN_ATTEMPTS - 1,
      retryDelaySeconds: 2,
      deadLetter: RUN_GAVE_UP_QUEUE,
      handler: async ({ runId }) => void (await executeRun(context.db, runId!, context)),
    },
    { name: SCHEDULE_QUEUE, expireInSeconds: 300, handler: async () => void (await queueScheduledRuns(context)) },
  ];
}

/** Rules with a cron are looked at every minute. */
export const dataQualitySchedules: Array<{ queue: string; cron: string }> = [{ queue: SCHEDULE_QUEUE, cron: '* * * * *' }];

/** Routes: /v1/data-quality-connections, runs, results. */
export { default } from './routes.js';
