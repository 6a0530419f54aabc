import type { Knex } from 'knex';
import { referencedColumn } from '../catalog/data-quality-rules.js';
import { applyMask, type MaskingRuleLike } from '../catalog/masking.js';
import { COLUMN_KINDS, type RuleType } from './kinds.js';

/** A stored rule as the runner reads it. */
export interface StoredRule {
  id: string;
  asset_id: string;
  column_name: string | null;
  name: string;
  rule_type: RuleType;
  definition: Record<string, unknown>;
  severity: 'critical' | 'high' | 'medium' | 'low';
  threshold: number;
  enabled: boolean;
}

export interface ColumnInfo {
  name: string;
  classification: string;
  pii_type: string | null;
  masking: MaskingRuleLike | null;
}

/**
 * A rule resolved against the catalog: the table and columns it names (the only identifiers that
 * reach a store), how each column is masked, and the earlier row count a relative row_count needs.
 */
export interface RulePlan {
  rule: StoredRule;
  asset: { id: string; store: string; database: string; table_name: string; domain: string };
  columns: Map<string, ColumnInfo>;
  /** The column that identifies a failing row in samples: the asset's first column. */
  keyColumn: string;
  referenced?: { table_name: string; column: string };
  previousRows?: number;
}

/** What a store found for a rule, before it is judged; samples are raw and masked by `maskSamples`. */
export interface Outcome {
  checked: number;
  failing: number;
  /** false when the store saw only part of the data (a DynamoDB scan that hit its limit). */
  complete: boolean;
  observed: Record<string, unknown>;
  samples: Array<Record<string, unknown>>;
}

export class PlanError extends Error {}

export async function planRule(db: Knex, rule: StoredRule): Promise<RulePlan> {
  const asset = await db('assets').where({ id: rule.asset_id }).first('id', 'store', 'database', 'table_name', 'domain');
  if (!asset) throw new PlanError(`asset ${rule.asset_id} no longer exists`);
  const rows = await db('asset_columns as c')
    .leftJoin('masking_rules as m', 'm.name', 'c.masking_rule')
    .where('c.asset_id', rule.asset_id)
    .orderBy('c.position')
    .select('c.name', 'c.classification', 'c.pii_type', 'm.strategy', 'm.params');
  const columns = new Map<string, ColumnInfo>(
    rows.map((r: { name: string; classification: string; pii_type: string | null; strategy: string | null; params: unknown }) => [
      r.name,
      { name: r.name, classification: r.classification, pii_type: r.pii_type, masking: r.strategy ? ({ strategy: r.strategy, params: r.params ?? {} } as MaskingRuleLike) : null },
    ]),
  );
  if (columns.size === 0) throw new PlanError(`asset ${asset.table_name} has no columns in the catalog`);
  // Rules stored before columns were required for every column kind (a freshness rule without one).
  if (COLUMN_KINDS.includes(rule.rule_type) && !rule.column_name) throw new PlanError(`a ${rule.rule_type} rule needs column_name; set it on the rule`);
  const plan: RulePlan = { rule, asset, columns, keyColumn: rows[0].name };
  if (rule.rule_type === 'referential') {
    try {
      plan.referenced = await referencedColumn(db, asset, rule.definition.references as never);
    } catch (error) {
      throw new PlanError(`the referenced column is not in the catalog: ${(error as Error).message}`);
    }
  }
  if (rule.rule_type === 'row_count' && rule.definition.within_percent !== undefined) {
    const previous = await db('data_quality_results')
      .where({ rule_id: rule.id })
      .whereIn('status', ['passed', 'failed'])
      .where('complete', true)
      .orderBy('id', 'desc')
      .first('observed');
    if (previous && typeof previous.observed?.rows === 'number') plan.previousRows = previous.observed.rows;
  }
  return plan;
}

/**
 * A sample value as it may be stored: masked by its column's masking rule; a PII or restricted
 * column without one is redacted whole. PII is never stored in clear.
 */
export function maskValue(column: ColumnInfo | undefined, value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (!column) return '[REDACTED]';
  const text = value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (column.masking) return applyMask(column.masking, text);
  if (column.pii_type || column.classification === 'restricted') return '[REDACTED]';
  return typeof value === 'number' || typeof value === 'boolean' ? value : text;
}

export function maskSamples(plan: RulePlan, samples: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return samples.map((sample) =>
    Object.fromEntries(Object.entries(sample).map(([key, value]) => [key, key === '#rows' ? Number(value) : maskValue(plan.columns.get(key), value)])),
  );
}
