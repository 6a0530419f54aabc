import type { Knex } from 'knex';
import { notifyOnCommit } from '../db/notifications.js';
import { canonicalJson } from '../evidence/chain.js';
import { HttpProblem } from '../http/problem.js';
import { ACCESS_DECISIONS_COUNTER, DATA_QUALITY_FAILURES, metricNamed, type Link } from './metrics.js';

/** NOTIFY channel that asks every instance to evaluate alerts soon (payload: what happened). */
export const ALERTS_CHANNEL = 'custos_alerts';

/** Metrics whose values other capabilities push (the rest are computed from Custos's own tables). */
export const PUSHED_METRICS = [DATA_QUALITY_FAILURES] as const;

export interface MetricEvent {
  metric: (typeof PUSHED_METRICS)[number];
  /** Exactly the metric's dimensions, e.g. { rule, asset, severity } for data_quality.failures. */
  dimensions: Record<string, string>;
  /** The current value for these dimensions (data quality: rows failing, 0 when the rule passed). */
  value: number;
  /** Where a reader of the alert goes, as API paths (e.g. /v1/data-quality-rules/<id>). */
  links?: Link[];
}

/**
 * The hook for capabilities that own a metric's data (data quality, issue 18): call it in the
 * transaction that stores a result. It keeps the latest value per dimension key (a later value of 0
 * resolves an open alert) and, on commit, asks for an alert evaluation. Call it with value 0 when a
 * rule passes, so an alert it raised resolves; a rule that was not run must not report 0.
 *
 *     await recordMetricEvent(trx, { metric: 'data_quality.failures',
 *       dimensions: { rule: rule.id, asset: 'aurora.wealth.clients', severity: rule.severity },
 *       value: result.rows_failing, links: [{ rel: 'data_quality_rule', href: `/v1/data-quality-rules/${rule.id}` }] });
 */
export async function recordMetricEvent(trx: Knex.Transaction, event: MetricEvent): Promise<void> {
  const metric = metricNamed(event.metric);
  if (!metric || !(PUSHED_METRICS as readonly string[]).includes(event.metric)) throw new HttpProblem(500, 'internal-error', `metric ${event.metric} is not pushed`);
  const keys = Object.keys(event.dimensions).sort();
  if (canonicalJson(keys) !== canonicalJson([...metric.dimensions].sort())) throw new HttpProblem(500, 'internal-error', `metric ${event.metric} takes dimensions ${metric.dimensions.join(', ')}`);
  if (!Number.isFinite(event.value)) throw new HttpProblem(500, 'internal-error', `metric ${event.metric}: value must be a finite number`);
  const dimensionKey = canonicalJson(event.dimensions);
  await trx.raw(
    `INSERT INTO alert_metric_values (metric, dimension_key, dimensions, value, links, observed_at) VALUES (?, ?, ?::jsonb, ?, ?::jsonb, now())
     ON CONFLICT (metric, dimension_key) DO UPDATE SET value = EXCLUDED.value, links = EXCLUDED.links, observed_at = EXCLUDED.observed_at`,
    [event.metric, dimensionKey, JSON.stringify(event.dimensions), event.value, JSON.stringify(event.links ?? [])],
  );
  await notifyOnCommit(trx, ALERTS_CHANNEL, event.metric);
}

/**
 * Access decisions, counted in memory per principal and table and flushed as per-minute counters
 * every few seconds: the decision path only increments a map entry, and the database sees one
 * upsert per key and minute, whatever the decision rate.
 */
export class DecisionCounter {
  private counts = new Map<string, { dimensions: Record<string, string>; denied: number; total: number }>();

  count(checks: Array<{ principal?: unknown; resource?: { store?: unknown; database?: unknown; table?: unknown } }>, answers: Array<{ decision: string }>): void {
    checks.forEach((check, i) => {
      const r = check.resource ?? {};
      const dimensions = { principal: String(check.principal ?? ''), table: [r.store, r.database, r.table].map((p) => String(p ?? '')).join('.') };
      const key = canonicalJson(dimensions);
      const entry = this.counts.get(key) ?? { dimensions, denied: 0, total: 0 };
      entry.total++;
      if (answers[i]?.decision !== 'allow') entry.denied++;
      this.counts.set(key, entry);
    });
  }

  get pending(): boolean {
    return this.counts.size > 0;
  }

  /** Adds what was counted to the current minute's counters; on failure the counts are kept for the next flush. */
  async flush(db: Knex): Promise<boolean> {
    if (this.counts.size === 0) return false;
    const batch = this.counts;
    this.counts = new Map();
    const bucket = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    try {
      const rows = [...batch.entries()].map(([key, c]) => ({ metric: ACCESS_DECISIONS_COUNTER, bucket, dimension_key: key, dimensions: JSON.stringify(c.dimensions), num: c.denied, den: c.total }));
      await db('alert_metric_counts')
        .insert(rows)
        .onConflict(['metric', 'bucket', 'dimension_key'])
        .merge({ num: db.raw('alert_metric_counts.num + EXCLUDED.num'), den: db.raw('alert_metric_counts.den + EXCLUDED.den') });
      return true;
    } catch (error) {
      for (const [key, c] of batch) {
        const entry = this.counts.get(key) ?? { dimensions: c.dimensions, denied: 0, total: 0 };
        entry.denied += c.denied;
        entry.total += c.total;
        this.counts.set(key, entry);
      }
      throw error;
    }
  }
}
