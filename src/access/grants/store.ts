import type { Knex } from 'knex';
import { requestCatalogEvaluation } from '../../evaluation/catalog-requests.js';
import { recordAudit, type AuditContext } from '../../audit/repository.js';
import { invalidField } from '../../http/problem.js';
import { resourceKey, type GrantResource, type GrantSource } from './lakeformation.js';
import type { Resource } from '@aws-sdk/client-lakeformation';

export const REQUEST_STATUSES = ['pending', 'approved', 'rejected', 'withdrawn'] as const;
export const GRANT_STATUSES = ['pending_apply', 'active', 'pending_revoke', 'revoked', 'expired'] as const;
export type GrantStatus = (typeof GRANT_STATUSES)[number];
/** Grants whose permission is (or is about to be) in Lake Formation. */
export const LIVE_GRANT_STATUSES: GrantStatus[] = ['pending_apply', 'active'];

export const REQUESTS_ENTITY = 'access-requests';
export const GRANTS_ENTITY = 'access-grants';

/** Who the background jobs act as in the audit log. */
export const SYSTEM_CONTEXT: AuditContext = { actor: 'system:access-grants', actorKeyId: null, role: 'system' };
export const EXPIRY_ACTOR = 'system:expiry';

export interface LfTagTerm {
  tag_key: string;
  tag_values: string[];
}

/** What is asked for: the same columns on a request and on the grant an approval makes of it. */
export interface AccessScope {
  principal: string;
  scope: 'table' | 'domain' | 'lf_tag';
  store: string | null;
  database: string | null;
  table_name: string | null;
  columns: string[];
  domain: string | null;
  lf_tag_expression: LfTagTerm[] | null;
  permissions: string[];
  purpose: string;
}

export interface RequestRow extends AccessScope {
  id: string;
  requester: string;
  requester_key_id: string | null;
  requester_subject: string;
  duration_days: number;
  status: (typeof REQUEST_STATUSES)[number];
  decided_by: string | null;
  decider_subject: string | null;
  decided_at: string | null;
  decision_comment: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

/** What Custos records about a grant's life in Lake Formation (access_grants.lake_formation). */
export interface LakeFormationRecord {
  /** The source the grant is applied through; null when the grant has no Lake Formation resource. */
  source: GrantSource | null;
  catalog_id: string | null;
  /** The exact Resource sent to GrantPermissions and RevokePermissions; null: nothing to apply. */
  resource: GrantResource | null;
  permissions: string[];
  /** Why there is no resource, when there is none. */
  note?: string;
  applied_at?: string;
  grant_request_id?: string | null;
  /** The permission was already in Lake Formation: nothing was granted. */
  already_present?: boolean;
  granted_permissions?: string[];
  revocation?: { reason: 'revoked' | 'withdrawn' | 'expired'; requested_by: string; requested_at: string; comment: string | null };
  revoke_completed_at?: string;
  revoke_request_id?: string | null;
  revoked_permissions?: string[];
  /** Permissions left in place because another live grant needs the same permission. */
  retained_permissions?: string[];
  /** The permission was no longer in Lake Formation: nothing was revoked. */
  already_absent?: boolean;
}

export interface GrantRow extends AccessScope {
  id: string;
  request_id: string;
  starts_at: string;
  expires_at: string;
  status: GrantStatus;
  lake_formation: LakeFormationRecord | null;
  aws_request_ids: string[];
  last_error: string | null;
  attempts: number;
  revoked_at: string | null;
  revoked_by: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

/** Tells the access-decision runtime (every instance) to reload grants, when the transaction commits. */
export async function notifyGrantsChanged(trx: Knex.Transaction): Promise<void> {
  await trx.raw("SELECT pg_notify('custos_access_data', 'grants')");
  // Approved grants are part of what the catalog rules read: they are evaluated again.
  await requestCatalogEvaluation(trx, 'access-grants');
}

/** The API view of a grant: `table` rather than the column name table_name. */
export function grantView(row: GrantRow) {
  const { table_name, ...rest } = row;
  return { ...rest, table: table_name };
}
export type GrantView = ReturnType<typeof grantView>;

export function requestView(row: RequestRow & { grant_id?: string | null; source?: string | null }) {
  const { table_name, requester_key_id: _key, grant_id, source, ...rest } = row;
  return { ...rest, table: table_name, source: source ?? null, grant_id: grant_id ?? null };
}
export type RequestView = ReturnType<typeof requestView>;

const JSON_COLUMNS = new Set(['columns', 'lf_tag_expression', 'permissions', 'lake_formation', 'aws_request_ids']);

function toRow(values: Record<string, unknown>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    row[key] = JSON_COLUMNS.has(key) && value !== null && typeof value === 'object' && !('toSQL' in (value as object)) ? JSON.stringify(value) : value;
  }
  return row;
}

export async function insertRow<T>(trx: Knex.Transaction, table: string, values: Record<string, unknown>): Promise<T> {
  const [row] = await trx(table).insert(toRow(values)).returning('*');
  return row as T;
}

/**
 * Changes a grant and writes its audit row and the runtime notification in the same transaction.
 * Guarded by version: `current` must be what the caller read in this transaction.
 */
export async function changeGrant(
  trx: Knex.Transaction,
  current: GrantRow,
  changes: Partial<Omit<GrantRow, 'id' | 'version' | 'created_at' | 'updated_at'>> & Record<string, unknown>,
  audit: { context: AuditContext; action: string },
): Promise<GrantRow> {
  const [updated] = await trx('access_grants')
    .where({ id: current.id, version: current.version })
    .update({ ...toRow(changes), version: current.version + 1, updated_at: trx.fn.now() })
    .returning('*');
  if (!updated) throw new Error(`grant ${current.id} changed concurrently (version ${current.version})`);
  await recordAudit(trx, audit.context, { action: audit.action, entity: GRANTS_ENTITY, entityId: current.id, oldValue: grantView(current), newValue: grantView(updated) });
  await notifyGrantsChanged(trx);
  return updated as GrantRow;
}

export async function changeRequest(trx: Knex.Transaction, current: RequestRow, changes: Partial<RequestRow> & Record<string, unknown>): Promise<RequestRow> {
  const [updated] = await trx('access_requests')
    .where({ id: current.id, version: current.version })
    .update({ ...toRow(changes), version: current.version + 1, updated_at: trx.fn.now() })
    .returning('*');
  if (!updated) throw new Error(`access request ${current.id} changed concurrently (version ${current.version})`);
  return updated as RequestRow;
}

export function getGrant(db: Knex, id: string, forUpdate = false): Promise<GrantRow | undefined> {
  const query = db('access_grants').where({ id }).first();
  return forUpdate ? query.forUpdate() : query;
}

/** Requests with the grant they became and the source named when they were made. */
export function requestQuery(db: Knex): Knex.QueryBuilder {
  return db('access_requests as r')
    .leftJoin('access_grants as g', 'g.request_id', 'r.id')
    .select(
      'r.*',
      'g.id as grant_id',
      // access_requests has no column for the source: it is kept in the request's create audit row.
      db.raw(`(SELECT a.new_value->>'source' FROM audit_log a WHERE a.entity = ? AND a.entity_id = r.id::text AND a.action = 'create' ORDER BY a.id LIMIT 1) AS source`, [REQUESTS_ENTITY]),
    );
}

export async function getRequest(db: Knex, id: string): Promise<(RequestRow & { grant_id: string | null; source: string | null }) | undefined> {
  return requestQuery(db).where('r.id', id).first();
}

export interface SourceRow extends GrantSource {
  services: string[];
  enabled: boolean;
}

/**
 * The source a grant is applied through: the one named, or else the only enabled source with the
 * lakeformation service. Throws a 400 naming `source` when there is none or the choice is ambiguous.
 */
export async function resolveSource(db: Knex, name: string | undefined): Promise<GrantSource> {
  const pick = ({ id, name, account_id, region, role_arn }: SourceRow): GrantSource => ({ id, name, account_id, region, role_arn });
  if (name !== undefined) {
    const source: SourceRow | undefined = await db('sources').where({ name }).first();
    if (!source) throw invalidField('source', `no source is named "${name}"`);
    if (!source.services.includes('lakeformation')) throw invalidField('source', `source ${name} does not have the lakeformation service`);
    if (!source.enabled) throw invalidField('source', `source ${name} is disabled`);
    return pick(source);
  }
  const candidates: SourceRow[] = await db('sources').where({ enabled: true }).whereRaw(`services @> '["lakeformation"]'::jsonb`).orderBy('name');
  if (candidates.length === 0) throw invalidField('source', 'no enabled source has the lakeformation service: register one (POST /v1/sources) or name one');
  if (candidates.length > 1) throw invalidField('source', `several enabled sources have the lakeformation service (${candidates.map((s) => s.name).join(', ')}): name one`);
  return pick(candidates[0]!);
}

/** The identity of a grant's permission in Lake Formation: source, principal and resource. */
export function permissionIdentity(grant: Pick<GrantRow, 'principal' | 'lake_formation'>): string | undefined {
  const lf = grant.lake_formation;
  if (!lf?.source || !lf.resource) return undefined;
  return JSON.stringify([lf.source.id, grant.principal, resourceKey(lf.resource as Resource)]);
}

/** The owning domain of what a request or grant is for: its table's domain, or the domain itself. */
export async function owningDomain(
  db: Knex,
  subject: { scope: string; store: string | null; database: string | null; table_name: string | null; domain: string | null },
): Promise<{ name: string; owner: string; steward: string } | undefined> {
  if (subject.scope === 'domain' && subject.domain) return db('domains').where({ name: subject.domain }).first('name', 'owner', 'steward');
  if (subject.scope === 'table' && subject.database && subject.table_name) {
    const query = db('assets as a').join('domains as d', 'd.name', 'a.domain').where({ 'a.database': subject.database, 'a.table_name': subject.table_name });
    if (subject.store) query.where('a.store', subject.store);
    return query.first('d.name', 'd.owner', 'd.steward');
  }
  // An LF-tag expression spans tables of any domain: it has no single owner in the catalog.
  return undefined;
}
