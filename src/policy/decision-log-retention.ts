import type { FastifyBaseLogger } from 'fastify';
import type { Knex } from 'knex';
import { recordAudit } from '../audit/repository.js';
import type { QueueDefinition } from '../jobs/queue.js';

export const DECISION_LOG_QUEUE = 'decision-log-maintenance';

/** How many months of partitions are kept ready ahead of now. */
const MONTHS_AHEAD = 3;

/**
 * Keeps the decision log's monthly partitions ready ahead of time and drops whole months older than
 * the retention (CUSTOS_DECISION_LOG_RETENTION_DAYS). Each dropped month is an audit row with its
 * decision count, so the log's own history says what left it and when. The database functions
 * (migration 020) refuse to drop anything younger than 90 days whoever asks.
 */
export async function maintainDecisionLog(db: Knex, retentionDays: number, log?: FastifyBaseLogger): Promise<{ created: number; dropped: Array<{ partition: string; decisions: number }> }> {
  return db.transaction(async (trx) => {
    const created = Number((await trx.raw('SELECT decision_log_prepare_partitions(now(), ?) AS n', [MONTHS_AHEAD])).rows[0].n);
    const cutoff = new Date(Date.now() - retentionDays * 86_400_000);
    const dropped = (await trx.raw('SELECT partition, decisions FROM decision_log_drop_partitions(?)', [cutoff])).rows.map((r: { partition: string; decisions: string }) => ({ partition: r.partition, decisions: Number(r.decisions) }));
    for (const d of dropped) {
      await recordAudit(trx, { actor: 'system:retention', actorKeyId: null, role: 'system' }, { action: 'drop', entity: 'decision_log_partition', entityId: d.partition, oldValue: { decisions: d.decisions }, newValue: { retention_days: retentionDays, cutoff: cutoff.toISOString() } });
    }
    if (created || dropped.length) log?.info({ created, dropped }, 'decision log partitions maintained');
    return { created, dropped };
  });
}

export function decisionLogQueues(context: { db: Knex; log: FastifyBaseLogger; retentionDays: number }): QueueDefinition[] {
  return [{ name: DECISION_LOG_QUEUE, expireInSeconds: 600, handler: async () => void (await maintainDecisionLog(context.db, context.retentionDays, context.log)) }];
}

/** Daily, and once at start (workflows.ts). */
export const decisionLogSchedules: Array<{ queue: string; cron: string }> = [{ queue: DECISION_LOG_QUEUE, cron: '17 3 * * *' }];
