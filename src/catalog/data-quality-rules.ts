import { Type, type Static } from '@sinclair/typebox';
import cronParser from 'cron-parser';
import type { Knex } from 'knex';
import { CATALOG_READERS, STEWARDS } from '../auth/roles.js';
import { equalityFilters, tableRepository, type Entity } from '../db/table-repository.js';
import { checkDefinition, DQ_SEVERITIES, RULE_TYPES } from '../data-quality/kinds.js';
import { patchOf, type ResourceDefinition } from '../http/crud.js';
import { invalidField } from '../http/problem.js';
import { EntityMeta, Nullable, StringEnum, Text, withExample, Uuid } from '../http/schemas.js';

export { DQ_SEVERITIES, RULE_TYPES };

const fields = {
  asset_id: Uuid,
  column_name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Null()], { description: 'null for a table-level rule' })),
  name: Type.String({ minLength: 1, maxLength: 100, examples: ['SSN unique'] }),
  description: Type.Optional(withExample(Text, 'No two clients share a social security number.')),
  rule_type: StringEnum(RULE_TYPES),
  definition: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description:
        'Parameters of the rule type (README, "Data quality"): {"min":0} for range, {"pattern":"isin"} or {"regex":"^\\\\d{5}$"} for format, {"columns":["a","b"]} for unique, {"max_age":"P1D"} for freshness, {"sql":"balance >= 0"} for custom_sql',
    }),
  ),
  severity: StringEnum(DQ_SEVERITIES),
  threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'largest tolerated ratio of failing rows (0: none); the not_null tolerated ratio' })),
  schedule: Type.Optional(Nullable(Type.String({ minLength: 9, maxLength: 100, description: 'cron expression (UTC): the rule runs on it; null: on demand only' }))),
  enabled: Type.Optional(Type.Boolean()),
};
export const DataQualityRuleCreate = Type.Object(fields, {
  additionalProperties: false,
  examples: [{ asset_id: '0190a8d2-7c1e-7000-8000-000000000001', column_name: 'ssn', name: 'SSN unique', rule_type: 'unique', definition: {}, severity: 'high', threshold: 0, schedule: '0 6 * * *' }],
});
export type DataQualityRuleCreate = Static<typeof DataQualityRuleCreate>;
export const DataQualityRule = Type.Object(
  {
    ...EntityMeta,
    ...fields,
    column_name: Type.Union([Type.String(), Type.Null()]),
    description: withExample(Text, 'No two clients share a social security number.'),
    definition: Type.Record(Type.String(), Type.Unknown()),
    threshold: Type.Number(),
    schedule: Type.Union([Type.String(), Type.Null()]),
    enabled: Type.Boolean(),
  },
  { title: 'DataQualityRule' },
);
export type DataQualityRule = Static<typeof DataQualityRule> & Entity;

/** The catalog facts a rule is checked against: its asset's store and columns, the asset it references. */
async function validateRule(trx: Knex.Transaction, candidate: DataQualityRuleCreate) {
  const asset = await trx('assets').where({ id: candidate.asset_id }).first('id', 'store', 'database');
  if (!asset) throw invalidField('asset_id', `asset ${candidate.asset_id} does not exist`);
  const columns: string[] = await trx('asset_columns').where({ asset_id: candidate.asset_id }).orderBy('position').pluck('name');
  if (candidate.column_name && !columns.includes(candidate.column_name)) {
    throw invalidField('column_name', `asset ${candidate.asset_id} has no column ${candidate.column_name}`);
  }
  checkDefinition(candidate, columns, asset.store);
  if (candidate.rule_type === 'referential') await referencedColumn(trx, asset, candidate.definition!.references as never);
  if (candidate.schedule) {
    try {
      cronParser.parseExpression(candidate.schedule, { utc: true });
    } catch (error) {
      throw invalidField('schedule', `must be a cron expression: ${(error as Error).message}`);
    }
  }
}

/**
 * The asset and column a referential rule points at: `table.column` in the same store and database,
 * or an asset id and column. Both must be in the catalog, since identifiers sent to a store come
 * from the catalog only.
 */
export async function referencedColumn(
  db: Knex,
  asset: { store: string; database: string },
  references: string | { asset_id: string; column: string },
): Promise<{ asset_id: string; table_name: string; column: string }> {
  const [table, column] = typeof references === 'string' ? references.split('.') : [undefined, references.column];
  const target = await db('assets')
    .where(typeof references === 'string' ? { store: asset.store, database: asset.database, table_name: table } : { id: references.asset_id })
    .first('id', 'table_name', 'store', 'database');
  if (!target) throw invalidField('definition.references', `no asset ${typeof references === 'string' ? `${asset.store}/${asset.database}.${table}` : references.asset_id} in the catalog`);
  if (target.store !== asset.store || target.database !== asset.database) {
    throw invalidField('definition.references', 'must be an asset of the same store and database (the check runs as one query there)');
  }
  if (!(await db('asset_columns').where({ asset_id: target.id, name: column }).first('name'))) {
    throw invalidField('definition.references', `asset ${target.table_name} has no column ${column}`);
  }
  return { asset_id: target.id, table_name: target.table_name, column: column! };
}

/** Seed 001 §7.1 data quality rules, attached to an asset and optionally one of its columns; they run (src/data-quality/). */
export const dataQualityRules: ResourceDefinition<DataQualityRule, DataQualityRuleCreate, Partial<DataQualityRuleCreate>> = {
  name: 'data-quality-rules',
  singular: 'data quality rule',
  tag: 'data quality',
  schemas: {
    entity: DataQualityRule,
    create: DataQualityRuleCreate,
    patch: patchOf(DataQualityRuleCreate),
    filters: { asset_id: Uuid, column_name: Type.String({ maxLength: 255 }), rule_type: StringEnum(RULE_TYPES), severity: StringEnum(DQ_SEVERITIES), enabled: Type.Boolean() },
  },
  // Only stewards and admins write rules, custom SQL predicates included (they run against stores).
  roles: { read: CATALOG_READERS, write: STEWARDS },
  repository: tableRepository({
    table: 'data_quality_rules',
    jsonColumns: ['definition'],
    filters: equalityFilters('asset_id', 'column_name', 'rule_type', 'severity', 'enabled'),
    validate: validateRule,
    derive: (candidate) => ({ definition: candidate.definition ?? {}, column_name: candidate.column_name ?? null, schedule: candidate.schedule ?? null }),
  }),
};
