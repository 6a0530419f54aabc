import cronParser from 'cron-parser';
import type { FastifyBaseLogger } from 'fastify';
import type { Knex } from 'knex';
import { createRun, type RunnerOptions } from './runs.js';

export const RUN_QUEUE = 'data-quality-run';
export const SCHEDULE_QUEUE = 'data-quality-schedule';

export interface DataQualityJobContext extends RunnerOptions {
  db: Knex;
  /** Where a run that gave up is logged. */
  log?: FastifyBaseLogger;
  /** Enqueues a job in the transaction `trx`, with the id given (src/jobs/workflows.ts enqueue). */
  enqueue(trx: Knex.Transaction, queue: string, id: string, data: Record<string, string>): Promise<void>;
}

const SYSTEM = { actor: 'system:schedule', actorKeyId: null, role: 'system' };

/**
 * Every minute: each enabled rule with a cron whose latest occurrence is after the rule's last
 * scheduled run (or its creation) gets a run. Rows are claimed with SKIP LOCKED, so two instances
 * never start the same occurrence twice. Returns the runs queued.
 */
export async function queueScheduledRuns(context: DataQualityJobContext, now = new Date()): Promise<string[]> {
  const queued = await context.db.transaction(async (trx) => {
    const rules: Array<{ id: string; schedule: string; last_scheduled_at: Date | null; created_at: Date }> = await trx('data_quality_rules')
      .whereNotNull('schedule')
      .where({ enabled: true })
      .forUpdate()
      .skipLocked()
      .select('id', 'schedule', 'last_scheduled_at', 'created_at');
    const runs: string[] = [];
    for (const rule of rules) {
      let previous: Date;
      try {
        previous = cronParser.parseExpression(rule.schedule, { utc: true, currentDate: now }).prev().toDate();
      } catch {
        continue; // validated on write; an unparsable stored cron never runs rather than stopping the others
      }
      const since = rule.last_scheduled_at ?? rule.created_at;
      if (previous <= new Date(since)) continue;
      const run = await createRun(trx, { ruleIds: [rule.id], scope: { rule_id: rule.id, schedule: true }, trigger: 'schedule', context: SYSTEM });
      await trx('data_quality_rules').where({ id: rule.id }).update({ last_scheduled_at: now });
      // Its job commits with it: a run is never `queued` without one.
      await context.enqueue(trx, RUN_QUEUE, run.id, { runId: run.id });
      runs.push(run.id);
    }
    return runs;
  });
  return queued;
}
