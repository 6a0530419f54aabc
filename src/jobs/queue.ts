import type { FastifyBaseLogger } from 'fastify';
import PgBossModule from 'pg-boss';

// pg-boss is CommonJS; under ESM its class may arrive as the default export or as `.PgBoss`.
type PgBoss = import('pg-boss');
const PgBossClass = ((PgBossModule as unknown as { PgBoss?: unknown }).PgBoss ?? PgBossModule) as unknown as new (options: object) => PgBoss;

export type JobHandler = (data: Record<string, string>) => Promise<void>;

export interface QueueDefinition {
  name: string;
  handler: JobHandler;
  /** How long one attempt may run before pg-boss considers it dead and retries. */
  expireInSeconds: number;
}

/**
 * Durable background work on PostgreSQL (pg-boss): jobs survive restarts, an attempt that dies is
 * retried with backoff, and any instance may run any job. Handlers must be idempotent.
 */
export class JobQueue {
  private boss!: PgBoss;
  private started = false;
  /** Handlers running now: stop() waits for them, so the database is never closed under a job. */
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly connectionString: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  async start(queues: QueueDefinition[], options: { work: boolean; schedules?: Array<{ queue: string; cron: string }> }): Promise<void> {
    // One connection per polling worker plus pg-boss's own (timekeeper, maintenance): a fetch never
    // waits for a connection, because pg-boss hangs on stop when one is still waiting as its pool closes.
    const max = (options.work ? queues.length : 0) + 4;
    this.boss = new PgBossClass({ connectionString: this.connectionString, schema: 'pgboss', max, application_name: 'custos-jobs' });
    this.boss.on('error', (error: Error) => this.log.error({ err: error }, 'job queue error'));
    await this.boss.start();
    this.started = true;
    for (const queue of queues) {
      await this.boss.createQueue(queue.name, { name: queue.name, retryLimit: 3, retryDelay: 5, retryBackoff: true, expireInSeconds: queue.expireInSeconds });
      if (!options.work) continue;
      await this.boss.work<Record<string, string>>(queue.name, { pollingIntervalSeconds: 0.5, batchSize: 1 }, async (jobs) => {
        for (const job of jobs) {
          this.log.info({ queue: queue.name, job: job.id }, 'job started');
          const run = queue.handler(job.data);
          this.running.add(run);
          try {
            await run;
          } finally {
            this.running.delete(run);
          }
        }
      });
    }
    for (const { queue, cron } of options.schedules ?? []) await this.boss.schedule(queue, cron, {});
  }

  /** Enqueues a job; the same key is not queued twice while one is pending. */
  async send(queue: string, data: Record<string, string>, key: string): Promise<void> {
    await this.boss.send(queue, data, { singletonKey: key });
  }

  /** Stops fetching jobs, then waits for the ones already running (an interrupted one would be retried anyway). */
  async stop(): Promise<void> {
    if (!this.started) return;
    await this.boss.stop({ graceful: true, timeout: 30_000, wait: true });
    await Promise.allSettled([...this.running]);
  }
}
