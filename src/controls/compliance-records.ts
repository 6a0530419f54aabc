import { Type, type Static } from '@sinclair/typebox';
import { CATALOG_READERS, RISK_OWNERS } from '../auth/roles.js';
import { equalityFilters, tableRepository, type Entity } from '../db/table-repository.js';
import { ID_ORDER } from '../db/pagination.js';
import { patchOf, type ResourceDefinition } from '../http/crud.js';
import { invalidField } from '../http/problem.js';
import { EntityMeta, IsoDate, Name, StringEnum, Text } from '../http/schemas.js';

export const COMPLIANCE_STATUSES = ['compliant', 'partially_compliant', 'non_compliant', 'not_assessed'] as const;
const nullableDate = Type.Union([IsoDate, Type.Null()]);

const fields = {
  regulation: Type.String({ minLength: 1, maxLength: 64, description: 'e.g. SOC2, SEC 17a-4, FINRA 4511, GLBA' }),
  requirement_id: Type.String({ minLength: 1, maxLength: 64, description: 'e.g. CC6.1' }),
  title: Type.Optional(Type.String({ maxLength: 500, examples: ['Logical access controls reviewed quarterly'] })),
  status: StringEnum(COMPLIANCE_STATUSES),
  last_review_date: Type.Optional(nullableDate),
  next_review_date: Type.Optional(nullableDate),
  responsible_party: Name,
  notes: Type.Optional(Text),
};
export const ComplianceRecordCreate = Type.Object(fields, { additionalProperties: false });
export type ComplianceRecordCreate = Static<typeof ComplianceRecordCreate>;
export const ComplianceRecord = Type.Object(
  { ...EntityMeta, ...fields, title: Type.String({ examples: ['Logical access controls reviewed quarterly'] }), notes: Type.String(), last_review_date: nullableDate, next_review_date: nullableDate },
  { title: 'ComplianceRecord' },
);
export type ComplianceRecord = Static<typeof ComplianceRecord> & Entity;

/** Seed 001 §5.4: one regulatory requirement, its status and its review cycle. */
export const complianceRecords: ResourceDefinition<ComplianceRecord, ComplianceRecordCreate, Partial<ComplianceRecordCreate>> = {
  name: 'compliance-records',
  singular: 'compliance record',
  tag: 'compliance',
  schemas: {
    entity: ComplianceRecord,
    create: ComplianceRecordCreate,
    patch: patchOf(ComplianceRecordCreate),
    filters: {
      regulation: Type.String({ maxLength: 64 }),
      requirement_id: Type.String({ maxLength: 64 }),
      status: StringEnum(COMPLIANCE_STATUSES),
      responsible_party: Name,
      due_before: IsoDate,
    },
  },
  roles: { read: CATALOG_READERS, write: RISK_OWNERS },
  repository: tableRepository({
    table: 'compliance_records',
    filters: {
      ...equalityFilters('regulation', 'requirement_id', 'status', 'responsible_party'),
      due_before: (q, v: string) => q.where('next_review_date', '<=', v),
    },
    // Reviews coming due are read soonest first.
    order: (query) =>
      query.due_before === undefined
        ? ID_ORDER
        : [
            { sql: 'next_review_date', field: 'next_review_date' },
            { sql: 'id', field: 'id' },
          ],
    validate: (_trx, candidate) => {
      const { last_review_date: last, next_review_date: next } = candidate;
      if (last && next && next < last) throw invalidField('next_review_date', `must not be before last_review_date (${last})`);
    },
  }),
};
