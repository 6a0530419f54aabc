import type { FastifyBaseLogger } from 'fastify';
import type { Knex } from 'knex';
import PgBossModule from 'pg-boss';

// pg-boss is CommonJS; under ESM its class may arrive as the default export or as `.PgBoss`.
type PgBoss = import('pg-boss');
const PgBossClass = ((PgBossModule as unknown as { PgBoss?: unknown }).PgBoss ?? PgBossModule) as unknown as new (options: object) => PgBoss;

/**
 * What a handler learns of its job besides the data: the attempts it is allowed (pg-boss retries plus
 * one) and, in a dead letter queue, the output of the job that failed every attempt (pg-boss keeps
 * the serialised error there: `message`).
 */
export interface JobMeta {
  retryLimit: number;
  retryCount: number;
  output?: { message?: unknown; value?: unknown } | null;
}

export type JobHandler = (data: Record<string, string>, meta: JobMeta) => Promise<void>;

export interface QueueDefinition {
  name: string;
  handler: JobHandler;
  /** How long one attempt may run before pg-boss considers it dead and retries. */
  expireInSeconds: number;
  /** pg-boss queue policy; `short` keeps at most one queued job per singleton key (debouncing). Default standard. */
  policy?: 'standard' | 'short';
  /** Jobs of this queue run at once on each instance (one poller each); default 1. */
  concurrency?: number;
  /** pg-boss retries of a failed attempt (default 3); 0 for queues that schedule their own retries. */
  retryLimit?: number;
  /** First retry delay in seconds (default 5), doubled with jitter after each failure. */
  retryDelaySeconds?: number;
  /** Queue that receives the job's data once every attempt has failed (pg-boss dead letter; it must be defined before this one). */
  deadLetter?: string;
}

/**
 * The caller's knex transaction as pg-boss's `db` option (pg-boss 10: `insert(jobs, { db })` runs its
 * statement through `db.executeSql(text, values)`), so that a job commits or rolls back with the rows
 * that need it. pg-boss writes `$1`..`$n`; knex binds `?` in order, so each `$n` becomes a `?` bound to
 * its value (an absent value as NULL: knex refuses undefined bindings; pg sends both as NULL).
 */
function onTransaction(trx: Knex.Transaction) {
  return {
    async executeSql(text: string, values: unknown[] = []): Promise<{ rows: any[] }> {
      // pg-boss's job statements have no `?` of their own; one would be taken for a binding.
      if (text.includes('?')) throw new Error('pg-boss statement with a "?" cannot run on a knex transaction');
      const bindings: unknown[] = [];
      const sql = text.replace(/\$(\d+)/g, (_, n: string) => {
        bindings.push(values[Number(n) - 1] ?? null);
        return '?';
      });
      const result = await trx.raw(sql, bindings as Knex.RawBinding[]);
      return { rows: result.rows };
    },
  };
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
    /** How often pg-boss looks for attempts that expired (their instance died): default 120 s. */
    private readonly maintenanceIntervalSeconds = 120,
  ) {}

  async start(queues: QueueDefinition[], options: { work: boolean; schedules?: Array<{ queue: string; cron: string }> }): Promise<void> {
    // One connection per polling worker plus pg-boss's own (timekeeper, maintenance): a fetch never
    // waits for a connection, because pg-boss hangs on stop when one is still waiting as its pool closes.
    const max = (options.work ? queues.reduce((n, q) => n + (q.concurrency ?? 1), 0) : 0) + 4;
    this.boss = new PgBossClass({ connectionString: this.connectionString, schema: 'pgboss', max, application_name: 'custos-jobs', maintenanceIntervalSeconds: this.maintenanceIntervalSeconds });
    this.boss.on('error', (error: Error) => this.log.error({ err: error }, 'job queue error'));
    await this.boss.start();
    this.started = true;
    for (const queue of queues) {
      const settings = { name: queue.name, policy: queue.policy ?? 'standard', retryLimit: queue.retryLimit ?? 3, retryDelay: queue.retryDelaySeconds ?? 5, retryBackoff: true, expireInSeconds: queue.expireInSeconds, ...(queue.deadLetter ? { deadLetter: queue.deadLetter } : {}) };
      await this.boss.createQueue(queue.name, settings);
      // A queue made by an earlier start keeps its settings otherwise (a changed timeout, a new dead letter).
      await this.boss.updateQueue(queue.name, settings);
      if (!options.work) continue;
      for (let i = 0; i < (queue.concurrency ?? 1); i++) await this.boss.work<Record<string, string>>(queue.name, { pollingIntervalSeconds: 0.5, batchSize: 1, includeMetadata: true }, async (jobs) => {
        for (const job of jobs) {
          this.log.info({ queue: queue.name, job: job.id }, 'job started');
          const { retryLimit, retryCount, output } = job as unknown as JobMeta;
          const run = queue.handler(job.data, { retryLimit, retryCount, output });
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

  /**
   * Enqueues a job. In a queue of the `short` policy the same key is not queued twice while one
   * waits; in a `standard` queue pg-boss does not dedupe by key (use `insert` with the row's id).
   */
  async send(queue: string, data: Record<string, string>, key: string): Promise<void> {
    await this.boss.send(queue, data, { singletonKey: key });
  }

  /**
   * Enqueues jobs with ids of their own (a row's id): a job whose id is already queued or running is
   * not queued twice, so re-sending after a crash is harmless. `expireInSeconds` overrides the queue's.
   * With `trx`, the jobs are written in that transaction: they exist if and only if it commits.
   */
  async insert(queue: string, jobs: Array<{ id: string; data: Record<string, string>; expireInSeconds?: number; singletonKey?: string }>, trx?: Knex.Transaction): Promise<void> {
    const options = trx ? { db: onTransaction(trx) } : {};
    for (let i = 0; i < jobs.length; i += 1_000) await this.boss.insert(jobs.slice(i, i + 1_000).map((job) => ({ name: queue, ...job })), options);
  }

  /** Enqueues a job that starts no earlier than `startAfter` (a retry with backoff). */
  async sendAfter(queue: string, data: Record<string, string>, startAfter: Date): Promise<void> {
    await this.boss.send(queue, data, { startAfter });
  }

  /** Stops fetching jobs, then waits for the ones already running (an interrupted one would be retried anyway). */
  async stop(): Promise<void> {
    if (!this.started) return;
    await this.boss.stop({ graceful: true, timeout: 30_000, wait: true });
    await Promise.allSettled([...this.running]);
  }
}
