import type { Knex } from 'knex';
import { ACCESS_DATA_CHANNEL } from '../access/runtime.js';
import { notifyOnCommit } from '../db/notifications.js';
import { requestCatalogEvaluation } from '../evaluation/catalog-requests.js';
import { alerts, type AlertCreate } from '../alerts/alerts.js';
import { recordAudit, type AuditContext } from '../audit/repository.js';
import { assets } from '../catalog/assets.js';
import { dataQualityRules, type DataQualityRuleCreate } from '../catalog/data-quality-rules.js';
import { domains } from '../catalog/domains.js';
import { complianceRecords, type ComplianceRecordCreate } from '../controls/compliance-records.js';
import type { CrudRepository, Entity } from '../db/table-repository.js';
import { demoAssets, demoDomains } from './wealth-catalog.js';

const DEMO: AuditContext = { actor: 'system:demo', actorKeyId: null, role: 'system' };

const demoComplianceRecords: ComplianceRecordCreate[] = [
  { regulation: 'SOC2', requirement_id: 'CC6.1', title: 'Logical access security over protected information assets', status: 'partially_compliant', last_review_date: '2026-08-15', next_review_date: '2026-11-15', responsible_party: 'ciso@bank.example' },
  { regulation: 'SOC2', requirement_id: 'CC6.6', title: 'Protection against threats from outside system boundaries', status: 'compliant', last_review_date: '2026-09-01', next_review_date: '2026-12-01', responsible_party: 'ciso@bank.example' },
  { regulation: 'SOC2', requirement_id: 'CC7.2', title: 'Monitoring of system components for anomalies', status: 'compliant', last_review_date: '2026-10-01', next_review_date: '2027-01-01', responsible_party: 'head.secops@bank.example' },
  { regulation: 'SOC2', requirement_id: 'C1.2', title: 'Disposal of confidential information per retention', status: 'not_assessed', next_review_date: '2026-12-15', responsible_party: 'records.manager@bank.example' },
  { regulation: 'SEC 17a-4', requirement_id: '17a-4(f)', title: 'Books and records kept in non-rewriteable, non-erasable form', status: 'compliant', last_review_date: '2026-06-30', next_review_date: '2027-06-30', responsible_party: 'chief.compliance@bank.example' },
  { regulation: 'GLBA', requirement_id: '314.4(c)(3)', title: 'Encryption of customer information at rest and in transit', status: 'partially_compliant', last_review_date: '2026-07-01', next_review_date: '2027-01-01', responsible_party: 'ciso@bank.example' },
];

const demoAlerts: AlertCreate[] = [
  { name: 'Critical findings', metric: 'findings.open', comparison: 'gt', threshold: 0, severity: 'critical', dimension_filter: { severity: 'critical' }, group_by: ['rule', 'account'], renotify_minutes: 1440, notification_channels: [{ type: 'webhook', url: 'https://hooks.bank.example/custos' }] },
  { name: 'Control failing', metric: 'controls.status', comparison: 'gt', threshold: 0, severity: 'high', dimension_filter: { status: 'failing' }, notification_channels: [{ type: 'sns', topic_arn: 'arn:aws:sns:us-east-1:111122223333:custos-security' }, { type: 'email', address: 'secops@bank.example' }] },
  { name: 'Exceptions expiring within 14 days', metric: 'exceptions.expiring', comparison: 'gt', threshold: 0, severity: 'medium', window_minutes: 14 * 24 * 60, notification_channels: [{ type: 'email', address: 'governance@bank.example' }] },
  { name: 'Restricted column denial spike', metric: 'access.denied_rate', comparison: 'gt', threshold: 0.5, severity: 'high', window_minutes: 5, group_by: ['principal'], notification_channels: [{ type: 'sns', topic_arn: 'arn:aws:sns:us-east-1:111122223333:custos-security' }] },
  { name: 'Data quality failures', metric: 'data_quality.failures', comparison: 'gte', threshold: 1, severity: 'medium', notification_channels: [{ type: 'webhook', url: 'https://hooks.bank.example/data-quality' }] },
];

/** Data quality rules, by table, with the asset id filled in at load time. */
const demoQualityRules: Array<{ table: string } & Omit<DataQualityRuleCreate, 'asset_id'>> = [
  { table: 'clients', column_name: 'ssn', name: 'ssn-format', rule_type: 'regex', definition: { pattern: '^\\d{3}-\\d{2}-\\d{4}$' }, severity: 'high' },
  { table: 'clients', column_name: 'client_id', name: 'client-id-unique', rule_type: 'unique', severity: 'critical' },
  { table: 'contact_information', column_name: 'email', name: 'email-not-null', rule_type: 'not_null', severity: 'medium' },
  { table: 'accounts', column_name: 'account_balance', name: 'balance-non-negative', rule_type: 'range', definition: { min: 0 }, severity: 'high' },
  { table: 'price_history', column_name: 'price_date', name: 'prices-fresh', rule_type: 'freshness', definition: { max_age_hours: 24 }, severity: 'medium' },
];

async function createAll<E extends Entity, C>(
  trx: Knex.Transaction,
  entity: string,
  repository: CrudRepository<E, C, unknown>,
  inputs: C[],
  exists: (input: C) => Promise<boolean>,
  audited: (row: E) => unknown = (row) => row,
): Promise<number> {
  let created = 0;
  for (const input of inputs) {
    if (await exists(input)) continue;
    const row = await repository.create(trx, input);
    await recordAudit(trx, DEMO, { action: 'create', entity, entityId: row.id, newValue: audited(row) });
    created++;
  }
  return created;
}

/**
 * Loads the wealth-management catalog of seed 001 (domains, every table of §4.1–4.4 with its
 * classified columns, retention attached) plus sample compliance records, alerts and quality rules.
 * Idempotent: entries that already exist (by natural key) are left alone.
 */
export async function loadDemoData(db: Knex, options: { onlyIfEmpty?: boolean } = {}): Promise<Record<string, number>> {
  return db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', ['custos:demo']);
    if (options.onlyIfEmpty && (await trx('assets').first('id'))) return {};
    const counts: Record<string, number> = {};
    counts.domains = await createAll(trx, 'domains', domains.repository as never, demoDomains, async (d) =>
      Boolean(await trx('domains').where({ name: d.name }).first('id')),
    );
    counts.assets = await createAll(trx, 'assets', assets.repository as never, demoAssets, async (a) =>
      Boolean(await trx('assets').where({ store: a.store, database: a.database, table_name: a.table }).first('id')),
    );
    const assetIds = new Map<string, string>(
      (await trx('assets').where({ store: 'aurora', database: 'wealth' }).select('id', 'table_name')).map((r) => [r.table_name, r.id]),
    );
    const rules = demoQualityRules.map(({ table, ...rule }) => ({ ...rule, asset_id: assetIds.get(table)! }));
    counts.data_quality_rules = await createAll(trx, 'data-quality-rules', dataQualityRules.repository as never, rules, async (r) =>
      Boolean(await trx('data_quality_rules').where({ asset_id: r.asset_id, name: r.name }).first('id')),
    );
    counts.compliance_records = await createAll(trx, 'compliance-records', complianceRecords.repository as never, demoComplianceRecords, async (r) =>
      Boolean(await trx('compliance_records').where({ regulation: r.regulation, requirement_id: r.requirement_id }).first('id')),
    );
    await notifyOnCommit(trx, ACCESS_DATA_CHANNEL, 'demo');
    await requestCatalogEvaluation(trx, 'demo');
    counts.alerts = await createAll(trx, 'alerts', alerts.repository as never, demoAlerts, async (a) =>
      Boolean(await trx('alerts').where({ name: a.name }).first('id')),
      // Webhook secrets stay out of the audit log.
      alerts.auditView as never,
    );
    return counts;
  });
}
