import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import type { GrantSource } from '../access/grants/lakeformation.js';
import { recordAudit, type AuditContext } from '../audit/repository.js';
import { appendEvidence } from '../evidence/chain.js';
import { conflict, invalidField } from '../http/problem.js';
import type { Change, Target } from './actions/index.js';

export const REMEDIATION_STATUSES = ['dry_run', 'approved', 'executing', 'applied', 'partially_applied', 'failed', 'verified', 'rolling_back', 'rolled_back', 'rollback_failed'] as const;
export type RemediationStatus = (typeof REMEDIATION_STATUSES)[number];
export const RESOURCE_STATUSES = ['planned', 'applying', 'applied', 'failed', 'verified', 'verify_failed', 'rolling_back', 'rolled_back', 'rollback_failed'] as const;
export type ResourceStatus = (typeof RESOURCE_STATUSES)[number];

/** Plans whose resources are being (or may soon be) changed: a finding is in at most one of them. */
export const LIVE_STATUSES: RemediationStatus[] = ['approved', 'executing', 'applied', 'partially_applied', 'rolling_back'];

export const ENTITY = 'remediations';
/** Who the background jobs act as in the audit log. */
export const SYSTEM_CONTEXT: AuditContext = { actor: 'system:remediation', actorKeyId: null, role: 'system' };

export interface RemediationRow {
  id: string;
  action: string;
  risk: 'low' | 'high';
  params: Record<string, unknown>;
  rule_id: string;
  controls: string[];
  status: RemediationStatus;
  trigger: 'api' | 'auto';
  requester: string;
  requester_key_id: string | null;
  requester_subject: string;
  approval_required: boolean;
  last_error: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface ResourceRow extends Target, Change {
  id: string;
  remediation_id: string;
  position: number;
  finding_id: string;
  source_id: string;
  status: ResourceStatus;
  error: string | null;
  aws_request_ids: string[];
  updated_at: string;
}

export interface StepRow {
  id: string;
  remediation_id: string;
  resource_row_id: string;
  step: 'apply' | 'verify' | 'finalize' | 'rollback';
  idempotency_key: string;
  status: 'started' | 'succeeded' | 'failed';
  attempts: number;
  request_ids: string[];
  confirmed_on_resume: boolean;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}

export interface ApprovalRow {
  id: string;
  remediation_id: string;
  approver: string;
  approver_key_id: string | null;
  approver_subject: string;
  role: string;
  comment: string | null;
  approved_at: string;
  expires_at: string;
}

/** jsonb values go to PostgreSQL as JSON text (knex would send a JS array as a PostgreSQL array). */
export function jsonColumns<T extends Record<string, unknown>>(values: T, columns: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, columns.includes(k) && v !== null && v !== undefined ? JSON.stringify(v) : v]));
}

const REMEDIATION_JSON = ['params', 'controls'];
const RESOURCE_JSON = ['before', 'after', 'aws_request_ids'];
const STEP_JSON = ['request_ids'];

export const insertRemediation = async (trx: Knex.Transaction, values: Omit<RemediationRow, 'version' | 'created_at' | 'updated_at' | 'last_error'>) =>
  (await trx('remediations').insert(jsonColumns(values, REMEDIATION_JSON)).returning('*'))[0] as RemediationRow;

export const insertResources = async (trx: Knex.Transaction, rows: Array<Omit<ResourceRow, 'error' | 'aws_request_ids' | 'updated_at'>>) =>
  (await trx('remediation_resources').insert(rows.map((r) => jsonColumns(r, RESOURCE_JSON))).returning('*')) as ResourceRow[];

/** A summary of the remediation for audit rows (the full plan is in the plan's own audit row). */
export const summary = (r: RemediationRow) => ({ id: r.id, action: r.action, rule_id: r.rule_id, status: r.status, risk: r.risk, approval_required: r.approval_required, last_error: r.last_error });

/**
 * Changes a remediation, guarded by version (`current` is what the caller read in this
 * transaction), and writes its audit row in the same transaction.
 */
export async function changeRemediation(
  trx: Knex.Transaction,
  current: RemediationRow,
  changes: Partial<Pick<RemediationRow, 'status' | 'last_error'>>,
  audit: { context: AuditContext; action: string; detail?: Record<string, unknown> },
): Promise<RemediationRow> {
  const [updated] = await trx('remediations')
    .where({ id: current.id, version: current.version })
    .update({ ...changes, version: current.version + 1, updated_at: trx.fn.now() })
    .returning('*');
  if (!updated) throw new Error(`remediation ${current.id} changed concurrently (version ${current.version})`);
  await recordAudit(trx, audit.context, { action: audit.action, entity: ENTITY, entityId: current.id, oldValue: summary(current), newValue: { ...summary(updated), ...audit.detail } });
  return updated as RemediationRow;
}

export async function changeResource(trx: Knex.Transaction, id: string, changes: Partial<Pick<ResourceRow, 'status' | 'error' | 'aws_request_ids'>>): Promise<ResourceRow> {
  const [updated] = await trx('remediation_resources')
    .where({ id })
    .update({ ...jsonColumns(changes, RESOURCE_JSON), updated_at: trx.fn.now() })
    .returning('*');
  return updated as ResourceRow;
}

export type StepKey = Pick<StepRow, 'remediation_id' | 'resource_row_id' | 'step' | 'idempotency_key'>;

/** Records a step under its idempotency key: inserted the first time, its `values` updated after. */
export async function upsertStep(trx: Knex.Transaction, key: StepKey, values: Partial<Omit<StepRow, keyof StepKey | 'id'>> & Pick<StepRow, 'status'>): Promise<StepRow> {
  const changed = jsonColumns(values, STEP_JSON);
  const [saved] = await trx('remediation_steps')
    .insert({ id: uuidv7(), ...key, ...changed })
    .onConflict('idempotency_key')
    .merge(Object.keys(changed))
    .returning('*');
  return saved as StepRow;
}

/** Audit row for one resource's step, in the step's transaction. */
export async function auditStep(trx: Knex.Transaction, context: AuditContext, remediation: RemediationRow, resource: ResourceRow, action: string, detail: Record<string, unknown>): Promise<void> {
  await recordAudit(trx, context, {
    action,
    entity: ENTITY,
    entityId: remediation.id,
    newValue: { remediation: summary(remediation), resource: { id: resource.id, resource_type: resource.resource_type, resource_id: resource.resource_id, status: resource.status }, ...detail },
  });
}

/**
 * Evidence of one remediation event for every control of the rule: the fix is part of the audit
 * trail of the controls it serves. Written in the caller's transaction.
 */
export async function remediationEvidence(trx: Knex.Transaction, remediation: RemediationRow, event: string, body: Record<string, unknown>): Promise<void> {
  const collectedAt = new Date().toISOString();
  const items = remediation.controls.map((control) => ({
    control_id: control,
    kind: 'remediation' as const,
    source_id: remediation.id,
    collected_at: collectedAt,
    bundle_revision: null,
    body: { event, remediation: { id: remediation.id, action: remediation.action, rule_id: remediation.rule_id, status: remediation.status, trigger: remediation.trigger, requester: remediation.requester }, ...body },
  }));
  if (items.length) await appendEvidence(trx, items);
}

export function getRemediation(db: Knex, id: string, forUpdate = false): Promise<RemediationRow | undefined> {
  const query = db('remediations').where({ id }).first();
  return forUpdate ? query.forUpdate() : query;
}

export const resourcesOf = (db: Knex, id: string): Promise<ResourceRow[]> => db('remediation_resources').where({ remediation_id: id }).orderBy('position');

/** Findings among `findingIds` that another live remediation (approved, executing, applied...) holds. */
export function busyFindings(db: Knex, findingIds: string[], exceptRemediation?: string): Promise<Array<{ finding_id: string; remediation_id: string }>> {
  const query = db('remediation_resources as rr')
    .join('remediations as r', 'r.id', 'rr.remediation_id')
    .whereIn('rr.finding_id', findingIds)
    .whereIn('r.status', LIVE_STATUSES)
    .select('rr.finding_id', 'r.id as remediation_id');
  if (exceptRemediation) query.whereNot('r.id', exceptRemediation);
  return query;
}

/** 409 when a finding of the plan is already being remediated by another one. */
export async function assertNotBusy(db: Knex, findingIds: string[], exceptRemediation?: string): Promise<void> {
  const busy = (await busyFindings(db, findingIds, exceptRemediation))[0];
  if (busy) throw conflict(`finding ${busy.finding_id} is already being remediated by ${busy.remediation_id}`);
}

export const latestApproval = (db: Knex, id: string): Promise<ApprovalRow | undefined> => db('remediation_approvals').where({ remediation_id: id }).orderBy('approved_at', 'desc').first();

/** The full view: the plan, each resource's diff and outcome, approvals and the execution log. */
export async function remediationView(db: Knex, remediation: RemediationRow) {
  const [resources, approvals, steps] = await Promise.all([
    resourcesOf(db, remediation.id),
    db('remediation_approvals').where({ remediation_id: remediation.id }).orderBy('approved_at') as Promise<ApprovalRow[]>,
    db('remediation_steps').where({ remediation_id: remediation.id }).orderBy([{ column: 'started_at' }, { column: 'id' }]) as Promise<StepRow[]>,
  ]);
  const { requester_key_id: _key, ...rest } = remediation;
  const latest = approvals.at(-1);
  return {
    ...rest,
    approval: { required: remediation.approval_required, valid_until: latest && Date.parse(latest.expires_at) > Date.now() ? new Date(latest.expires_at).toISOString() : null },
    resources: resources.map(({ remediation_id: _r, ...r }) => r),
    approvals: approvals.map(({ remediation_id: _r, approver_key_id: _k, ...a }) => a),
    steps: steps.map(({ remediation_id: _r, ...s }) => s),
  };
}

/** The registered, enabled source of an account and region: AWS is reached through it (its role, if any). */
export async function sourceFor(db: Knex, account: string, region: string, field: string): Promise<GrantSource> {
  const source = await db('sources').where({ account_id: account, region, enabled: true }).first('id', 'name', 'account_id', 'region', 'role_arn');
  if (!source) throw invalidField(field, `no enabled source covers account ${account} in region ${region || '(none)'}: register one (POST /v1/sources) to remediate there`);
  return source;
}

export const sourceById = (db: Knex, id: string): Promise<GrantSource> => db('sources').where({ id }).first('id', 'name', 'account_id', 'region', 'role_arn');
