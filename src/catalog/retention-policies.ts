import { Type, type Static } from '@sinclair/typebox';
import { CATALOG_READERS, RISK_OWNERS } from '../auth/roles.js';
import { equalityFilters, tableRepository, type Entity } from '../db/table-repository.js';
import { patchOf, type ResourceDefinition } from '../http/crud.js';
import { invalidField } from '../http/problem.js';
import { EntityMeta, Name, StringEnum, Text, withExample } from '../http/schemas.js';
import { Slug } from './classifications.js';

export const TRIGGER_EVENTS = ['record_creation', 'account_closure', 'transaction_date', 'document_date', 'event_date'] as const;
const PERIOD = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$/;

/**
 * The shortest storage, in days, that satisfies an ISO 8601 period (P7Y, P18M, P90D) whatever day
 * the clock starts: what an S3 lifecycle expiration must be at least. Months and years vary in
 * length, so this is the longest the period lasts from any month start in the 400-year Gregorian
 * cycle (P7Y → 2,557 days, P18M → 550), not an average.
 */
export function periodDays(period: string): number {
  const match = PERIOD.exec(period);
  if (!match) return 0;
  const [years, months, days] = [match[1], match[2], match[3]].map((n) => Number(n ?? 0)) as [number, number, number];
  let longest = 0;
  for (let month = 0; month < 400 * 12; month++) {
    const start = Date.UTC(2000, month, 1);
    const end = Date.UTC(2000 + years, month + months, 1);
    longest = Math.max(longest, (end - start) / 86_400_000);
  }
  return longest + days;
}

const fields = {
  name: withExample(Slug, 'client-data'),
  description: Type.Optional(withExample(Text, 'Client records: kept seven years after the relationship ends.')),
  data_category: Name,
  trigger_event: StringEnum(TRIGGER_EVENTS, { description: 'What starts the retention clock' }),
  period: Type.String({ pattern: PERIOD.source, maxLength: 20, description: 'ISO 8601 period in years, months and days, e.g. P7Y' }),
};
export const RetentionPolicyCreate = Type.Object(fields, { additionalProperties: false });
export type RetentionPolicyCreate = Static<typeof RetentionPolicyCreate>;
export const RetentionPolicy = Type.Object(
  { ...EntityMeta, ...fields, description: withExample(Text, 'Client records: kept seven years after the relationship ends.'), period_days: Type.Integer({ description: 'Minimum days of storage the period requires' }) },
  { title: 'RetentionPolicy' },
);
export type RetentionPolicy = Static<typeof RetentionPolicy> & Entity;

/** Seed 001 §5.3 retention policies, attached to assets. */
export const retentionPolicies: ResourceDefinition<RetentionPolicy, RetentionPolicyCreate, Partial<RetentionPolicyCreate>> = {
  name: 'retention-policies',
  singular: 'retention policy',
  tag: 'catalog',
  schemas: {
    entity: RetentionPolicy,
    create: RetentionPolicyCreate,
    patch: patchOf(RetentionPolicyCreate),
    filters: { trigger_event: StringEnum(TRIGGER_EVENTS), data_category: Name },
  },
  roles: { read: CATALOG_READERS, write: RISK_OWNERS },
  repository: tableRepository({
    table: 'retention_policies',
    filters: equalityFilters('trigger_event', 'data_category'),
    validate: (_trx, candidate) => {
      if (periodDays(candidate.period) < 1) throw invalidField('period', 'must be at least one day, e.g. P7Y');
    },
    derive: (candidate) => ({ period_days: periodDays(candidate.period) }),
  }),
};
