import { Type, type Static } from '@sinclair/typebox';
import { CATALOG_READERS, STEWARDS } from '../auth/roles.js';
import { equalityFilters, tableRepository, type Entity } from '../db/table-repository.js';
import { patchOf, type ResourceDefinition } from '../http/crud.js';
import { invalidField } from '../http/problem.js';
import { EntityMeta, StringEnum, Text, Uuid } from '../http/schemas.js';

export const RULE_TYPES = ['not_null', 'unique', 'range', 'regex', 'allowed_values', 'referential', 'freshness', 'row_count', 'custom_sql'] as const;
export const DQ_SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;

const fields = {
  asset_id: Uuid,
  column_name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Null()], { description: 'null for a table-level rule' })),
  name: Type.String({ minLength: 1, maxLength: 100 }),
  description: Type.Optional(Text),
  rule_type: StringEnum(RULE_TYPES),
  definition: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Parameters of the rule type, e.g. {"min":0} for range, {"pattern":"^\\\\d{5}$"} for regex' })),
  severity: StringEnum(DQ_SEVERITIES),
  enabled: Type.Optional(Type.Boolean()),
};
export const DataQualityRuleCreate = Type.Object(fields, { additionalProperties: false });
export type DataQualityRuleCreate = Static<typeof DataQualityRuleCreate>;
export const DataQualityRule = Type.Object(
  {
    ...EntityMeta,
    ...fields,
    column_name: Type.Union([Type.String(), Type.Null()]),
    description: Text,
    definition: Type.Record(Type.String(), Type.Unknown()),
    enabled: Type.Boolean(),
  },
  { title: 'DataQualityRule' },
);
export type DataQualityRule = Static<typeof DataQualityRule> & Entity;

/** What each rule type needs in its definition; the engine that runs them is outside Custos. */
function checkDefinition(candidate: DataQualityRuleCreate) {
  const d = candidate.definition ?? {};
  const columnLevel = ['not_null', 'unique', 'range', 'regex', 'allowed_values', 'referential'];
  if (columnLevel.includes(candidate.rule_type) && !candidate.column_name) {
    throw invalidField('column_name', `is required for a ${candidate.rule_type} rule`);
  }
  switch (candidate.rule_type) {
    case 'range':
      if (d.min === undefined && d.max === undefined) throw invalidField('definition', 'a range rule needs a numeric min or max');
      for (const bound of ['min', 'max'] as const) {
        if (d[bound] !== undefined && typeof d[bound] !== 'number') throw invalidField(`definition.${bound}`, 'must be a number');
      }
      if (typeof d.min === 'number' && typeof d.max === 'number' && d.min > d.max) throw invalidField('definition.max', 'must not be below min');
      break;
    case 'regex':
      try {
        if (typeof d.pattern !== 'string') throw new Error();
        new RegExp(d.pattern);
      } catch {
        throw invalidField('definition.pattern', 'must be a valid regular expression');
      }
      break;
    case 'allowed_values':
      if (!Array.isArray(d.values) || d.values.length === 0) throw invalidField('definition.values', 'must be a non-empty array');
      break;
    case 'referential':
      if (typeof d.references !== 'string' || !/^[\w]+\.[\w]+$/.test(d.references)) {
        throw invalidField('definition.references', 'must name table.column');
      }
      break;
    case 'freshness':
      if (typeof d.max_age_hours !== 'number' || d.max_age_hours <= 0) throw invalidField('definition.max_age_hours', 'must be a positive number');
      break;
    case 'custom_sql':
      if (typeof d.sql !== 'string' || d.sql.trim() === '') throw invalidField('definition.sql', 'must be a SQL expression');
      break;
  }
}

/** Seed 001 §7.1 data quality rules, attached to an asset and optionally one of its columns. */
export const dataQualityRules: ResourceDefinition<DataQualityRule, DataQualityRuleCreate, Partial<DataQualityRuleCreate>> = {
  name: 'data-quality-rules',
  singular: 'data quality rule',
  tag: 'catalog',
  schemas: {
    entity: DataQualityRule,
    create: DataQualityRuleCreate,
    patch: patchOf(DataQualityRuleCreate),
    filters: { asset_id: Uuid, column_name: Type.String({ maxLength: 255 }), rule_type: StringEnum(RULE_TYPES), severity: StringEnum(DQ_SEVERITIES), enabled: Type.Boolean() },
  },
  roles: { read: CATALOG_READERS, write: STEWARDS },
  repository: tableRepository({
    table: 'data_quality_rules',
    jsonColumns: ['definition'],
    filters: equalityFilters('asset_id', 'column_name', 'rule_type', 'severity', 'enabled'),
    validate: async (trx, candidate) => {
      checkDefinition(candidate);
      const asset = await trx('assets').where({ id: candidate.asset_id }).first('id');
      if (!asset) throw invalidField('asset_id', `asset ${candidate.asset_id} does not exist`);
      if (candidate.column_name) {
        const column = await trx('asset_columns').where({ asset_id: candidate.asset_id, name: candidate.column_name }).first('name');
        if (!column) throw invalidField('column_name', `asset ${candidate.asset_id} has no column ${candidate.column_name}`);
      }
    },
    derive: (candidate) => ({ definition: candidate.definition ?? {}, column_name: candidate.column_name ?? null }),
  }),
};
