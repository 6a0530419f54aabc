import type { QueueDefinition } from '../jobs/queue.js';
import { executeRun } from './runs.js';
import { queueScheduledRuns, RUN_QUEUE, SCHEDULE_QUEUE, type DataQualityJobContext } from './schedule.js';

export { RUN_QUEUE, SCHEDULE_QUEUE, type DataQualityJobContext } from './schedule.js';

/** The durable jobs of data quality: a run (idempotent: done rules are skipped on retry) and the cron sweep. */
export function dataQualityQueues(context: DataQualityJobContext): QueueDefinition[] {
  return [
    { name: RUN_QUEUE, expireInSeconds: 3600, handler: async ({ runId }) => void (await executeRun(context.db, runId!, context)) },
    { name: SCHEDULE_QUEUE, expireInSeconds: 300, handler: async () => void (await queueScheduledRuns(context)) },
  ];
}

/** Rules with a cron are looked at every minute. */
export const dataQualitySchedules: Array<{ queue: string; cron: string }> = [{ queue: SCHEDULE_QUEUE, cron: '* * * * *' }];

/** Routes: /v1/data-quality-connections, runs, results. */
export { default } from './routes.js';
