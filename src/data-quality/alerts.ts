import type { Knex } from 'knex';
import type { DataQualityRun, ResultRow } from './runs.js';

/**
 * The alert metrics hook of data quality (issue 16's "data quality failures" metric): called once
 * after every data quality run ends, with its results. Alert evaluation is not on main yet, so this
 * is where it plugs in: compute the metric (failed rules of the run, by severity and asset) and hand
 * it to the alert registry. A failure here never changes the run (runs.ts logs it and goes on).
 */
export async function reportDataQualityMetrics(_db: Knex, run: DataQualityRun, results: ResultRow[]): Promise<DataQualityMetric> {
  return {
    metric: 'data_quality_failures',
    run_id: run.id,
    failed: results.filter((r) => r.status === 'failed').map((r) => r.rule_id),
    errors: results.filter((r) => r.status === 'error').length,
  };
}

export interface DataQualityMetric {
  metric: 'data_quality_failures';
  run_id: string;
  /** Rules that failed in the run. */
  failed: string[];
  /** Rules that could not run (store unreachable, timeout). */
  errors: number;
}
