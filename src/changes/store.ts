import type { Knex } from 'knex';
import type { AuditContext } from '../audit/repository.js';
import { samePersonAs, type Relatives } from '../auth/identity.js';
import type { Actor } from '../auth/plugin.js';
import type { Role } from '../http/schemas.js';

export const CHANGES_ENTITY = 'pending-changes';
export const CHANGE_STATUSES = ['pending', 'applied', 'rejected', 'withdrawn', 'expired'] as const;
export type ChangeStatus = (typeof CHANGE_STATUSES)[number];
/** Who the expiry sweep acts as. */
export const EXPIRY_CONTEXT: AuditContext = { actor: 'system:change-expiry', actorKeyId: null, role: 'system' };

/** Who may approve a pending change besides never its proposer: any of these roles, or any of these subjects. */
export interface Approvers {
  roles: Role[];
  subjects: string[];
}

export interface ChangeRow {
  id: string;
  kind: string;
  entity: string;
  entity_id: string;
  base_version: number | null;
  payload: unknown;
  summary: string;
  reasons: string[];
  status: ChangeStatus;
  approver_roles: Role[];
  approver_subjects: string[];
  proposed_by: string;
  proposer_subject: string;
  proposer_role: string;
  proposed_at: string;
  expires_at: string;
  break_glass_reason: string | null;
  decided_by: string | null;
  decider_subject: string | null;
  decided_at: string | null;
  decision_note: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

/**
 * Four eyes: never the proposer, compared as one person (src/auth/identity.ts: the same subject, or
 * one issued a key of the other); then a listed role or a listed subject. `relatives` are the
 * actor's (`relativesOf(actor.subject)`); without them only the subject itself is compared.
 */
export function mayApprove(actor: Actor, change: Pick<ChangeRow, 'proposer_subject' | 'approver_roles' | 'approver_subjects'>, relatives?: Relatives): boolean {
  if (samePersonAs(relatives ?? { subject: actor.subject, issuers: new Set(), issued: new Set() }, change.proposer_subject)) return false;
  return change.approver_roles.includes(actor.role) || change.approver_subjects.includes(actor.subject);
}

/** The API view: the row plus who may approve it and whether the caller (with their relatives by key issuance) may. */
export function changeView(row: ChangeRow, actor?: Actor, relatives?: Relatives) {
  const { approver_roles, approver_subjects, ...rest } = row;
  return {
    ...rest,
    approvers: { roles: approver_roles, subjects: approver_subjects, never: row.proposer_subject },
    can_approve: actor !== undefined && row.status === 'pending' && Date.parse(row.expires_at) > Date.now() && mayApprove(actor, row, relatives),
  };
}
export type ChangeView = ReturnType<typeof changeView>;

export async function lockChange(trx: Knex.Transaction, id: string): Promise<ChangeRow | undefined> {
  return trx('pending_changes').where({ id }).forUpdate().first();
}

export async function getChange(db: Knex, id: string): Promise<ChangeRow | undefined> {
  return db('pending_changes').where({ id }).first();
}

/** Changes a locked row, bumping its version. */
export async function updateChange(trx: Knex.Transaction, current: ChangeRow, changes: Partial<ChangeRow>): Promise<ChangeRow> {
  const [row] = await trx('pending_changes')
    .update({ ...changes, version: current.version + 1, updated_at: trx.fn.now() })
    .where({ id: current.id, version: current.version })
    .returning('*');
  return row;
}
