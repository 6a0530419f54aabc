import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';

// Frozen copies of the reference data of seed 001 (§5.2, §5.3, §10.1). Migrations do not import app
// code, so later changes to the code cannot change what this migration did.
const classifications = [
  {
    name: 'public',
    rank: 0,
    description: 'Approved for public release, such as market reference data.',
    handling_requirements: ['No access restriction', 'Integrity controls still apply'],
  },
  {
    name: 'internal',
    rank: 10,
    description: 'Business data for staff and registered systems.',
    handling_requirements: ['Authenticated staff and registered principals only', 'Encrypted at rest', 'Not shared outside the bank without approval'],
  },
  {
    name: 'confidential',
    rank: 20,
    description: 'Client financial data and PII whose disclosure would harm clients or the bank.',
    handling_requirements: [
      'Access by domain or table grant with a business need',
      'Encrypted at rest with AWS KMS and in transit with TLS',
      'Access logged and reviewed quarterly',
    ],
  },
  {
    name: 'restricted',
    rank: 30,
    description: 'Regulated identifiers (SSN, tax id, account numbers) whose disclosure triggers breach notification.',
    handling_requirements: [
      'Explicit, time-limited column grant for a declared purpose',
      'Masked by default per the masking rules',
      'Encrypted with customer-managed KMS keys',
      'Every access logged and reviewed monthly',
    ],
  },
];

const maskingRules = [
  { name: 'ssn_last4', description: 'SSN: last 4 digits only (seed 001 §5.2).', strategy: 'show_last', params: { visible: 4 } },
  { name: 'card_last4', description: 'Credit card: last 4 digits only (seed 001 §5.2).', strategy: 'show_last', params: { visible: 4 } },
  { name: 'email_domain', description: 'Email: domain only (seed 001 §5.2).', strategy: 'email_domain', params: {} },
  { name: 'phone_last4', description: 'Phone: last 4 digits only (seed 001 §5.2).', strategy: 'show_last', params: { visible: 4 } },
  {
    name: 'redact',
    description: 'Whole value hidden; for restricted values seed 001 gives no rule for (tax ids, account numbers, dates of birth).',
    strategy: 'redact',
    params: { replacement: '[REDACTED]' },
  },
];

// period_days = ceil(years * 365.25 + months * 30.4375 + days): the shortest storage that satisfies it.
const retentionPolicies = [
  { name: 'client-data', description: 'Client data: 7 years after account closure (seed 001 §5.3).', data_category: 'client', trigger_event: 'account_closure', period: 'P7Y', period_days: 2557 },
  { name: 'transaction-data', description: 'Transaction data: 7 years (seed 001 §5.3).', data_category: 'transaction', trigger_event: 'transaction_date', period: 'P7Y', period_days: 2557 },
  { name: 'document-data', description: 'Document data: 10 years (seed 001 §5.3).', data_category: 'document', trigger_event: 'document_date', period: 'P10Y', period_days: 3653 },
  { name: 'audit-logs', description: 'Audit logs: 5 years (seed 001 §5.3).', data_category: 'audit_log', trigger_event: 'event_date', period: 'P5Y', period_days: 1827 },
  { name: 'performance-data', description: 'Performance data: 10 years (seed 001 §5.3).', data_category: 'performance', trigger_event: 'record_creation', period: 'P10Y', period_days: 3653 },
];

const tables = [
  ['classifications', classifications],
  ['masking_rules', maskingRules],
  ['retention_policies', retentionPolicies],
] as const;

export async function up(knex: Knex): Promise<void> {
  for (const [table, rows] of tables) {
    for (const data of rows) {
      const row: Record<string, unknown> = { id: uuidv7(), ...data };
      for (const key of ['handling_requirements', 'params']) if (key in row) row[key] = JSON.stringify(row[key]);
      const [inserted] = await knex(table).insert(row).returning('*');
      await knex('audit_log').insert({
        actor: 'system:migration',
        role: 'system',
        action: 'create',
        entity: table,
        entity_id: inserted.id,
        new_value: inserted,
      });
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  // The audit rows stay: the audit log is append-only.
  for (const [table, rows] of [...tables].reverse()) {
    await knex(table).whereIn('name', rows.map((r) => r.name)).delete();
  }
}
