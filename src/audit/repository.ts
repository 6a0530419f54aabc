import type { Knex } from 'knex';
import { paginate, type Page, type PageParams } from '../db/pagination.js';
import { auditChainHead, auditHash } from './chain.js';

/** Who did something, and from where: taken from the authenticated request. */
export interface AuditContext {
  actor: string;
  actorKeyId: string | null;
  /** The identity behind the actor (request.actor.subject); system actors are their own subject. */
  subject?: string;
  role: string;
  /** The email of a person signed in to the console. */
  email?: string | null;
  clientIp?: string;
  requestId?: string;
  /** The pending change (four-eyes) this change applies, when it was approved or broke glass. */
  pendingChangeId?: string;
  /** Set when an admin applied a protection-lowering change alone: the reason they gave. */
  breakGlassReason?: string;
}

export interface AuditChange {
  action: string;
  entity: string;
  entityId: string;
  oldValue?: unknown;
  newValue?: unknown;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  actor_key_id: string | null;
  actor_subject: string | null;
  role: string;
  actor_email: string | null;
  action: string;
  entity: string;
  entity_id: string;
  old_value: unknown;
  new_value: unknown;
  client_ip: string | null;
  request_id: string | null;
  pending_change_id: string | null;
  break_glass_reason: string | null;
}

export interface AuditFilters extends PageParams {
  entity?: string;
  entity_id?: string;
  actor?: string;
  actor_subject?: string;
  action?: string;
  request_id?: string;
  from?: string;
  to?: string;
}

const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));

/** Writes inside the caller's transaction, so a change and its audit row commit or fail together. */
export async function recordAudit(trx: Knex.Transaction, context: AuditContext, change: AuditChange): Promise<void> {
  // The row as it will be stored (JSON values round-tripped as JSONB returns them), so its hash verifies later.
  const row = {
    at: new Date().toISOString(),
    actor: context.actor,
    actor_key_id: context.actorKeyId,
    actor_subject: context.subject ?? context.actor,
    role: context.role,
    actor_email: context.email ?? null,
    action: change.action,
    entity: change.entity,
    entity_id: change.entityId,
    old_value: json(change.oldValue),
    new_value: json(change.newValue),
    client_ip: context.clientIp ?? null,
    request_id: context.requestId ?? null,
    pending_change_id: context.pendingChangeId ?? null,
    break_glass_reason: context.breakGlassReason ?? null,
  };
  const prev = await auditChainHead(trx);
  const hash = auditHash(prev, { ...row, old_value: parsed(row.old_value), new_value: parsed(row.new_value) });
  await trx('audit_log').insert({ ...row, prev_hash: prev, hash });
}

const parsed = (json: string | null): unknown => (json === null ? null : JSON.parse(json));

/** Newest first. */
export async function listAudit(db: Knex, filters: AuditFilters): Promise<Page<AuditEntry>> {
  const query = db('audit_log').select('*');
  for (const field of ['entity', 'entity_id', 'actor', 'actor_subject', 'action', 'request_id'] as const) {
    if (filters[field] !== undefined) query.where(field, filters[field]);
  }
  if (filters.from) query.where('at', '>=', filters.from);
  if (filters.to) query.where('at', '<', filters.to);
  return paginate<AuditEntry & Record<string, unknown>>(query, filters, undefined, 'desc');
}

export async function getAudit(db: Knex, id: number): Promise<AuditEntry | undefined> {
  return db('audit_log').where({ id }).first();
}
