import type { Knex } from 'knex';
import type { AuditContext } from '../audit/repository.js';
import type { ExceptionStatus } from './schemas.js';

export const EXCEPTIONS_ENTITY = 'exceptions';
/** Who the expiry sweep acts as in the audit log. */
export const EXPIRY_CONTEXT: AuditContext = { actor: 'system:expiry', actorKeyId: null, role: 'system' };

export interface ExceptionRow {
  id: string;
  status: ExceptionStatus;
  finding_id: string | null;
  rule_id: string;
  resource_pattern: string;
  account: string | null;
  region: string | null;
  justification: string;
  compensating_control: string;
  expires_at: string;
  requested_by: string;
  requester_subject: string;
  requested_at: string;
  decided_by: string | null;
  decider_subject: string | null;
  decided_at: string | null;
  decision_note: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

/** How an approved exception ended: revoked by someone, or expired. */
export interface ExceptionEnd {
  ended_by: string | null;
  ended_at: string | null;
  end_note: string | null;
}

/**
 * Exceptions with how they ended. The table has no columns for it: the revoke or expire audit row,
 * written in the same transaction as the status change, is the record.
 */
export function exceptionQuery(db: Knex): Knex.QueryBuilder {
  return db('exceptions as e')
    .select(
      'e.*',
      db.raw(
        `(SELECT json_build_object('by', a.actor, 'at', a.at, 'note', a.new_value->>'end_note') FROM audit_log a
          WHERE a.entity = ? AND a.entity_id = e.id::text AND a.action IN ('revoke', 'expire') ORDER BY a.id LIMIT 1) AS ending`,
        [EXCEPTIONS_ENTITY],
      ),
    );
}

type QueriedRow = ExceptionRow & { ending?: { by: string; at: string; note: string | null } | null };

export function exceptionView(row: QueriedRow, end?: ExceptionEnd) {
  const { ending, ...rest } = row;
  return {
    ...rest,
    ended_by: end?.ended_by ?? ending?.by ?? null,
    ended_at: end?.ended_at ?? (ending ? new Date(ending.at).toISOString() : null),
    end_note: end?.end_note ?? ending?.note ?? null,
  };
}
export type ExceptionView = ReturnType<typeof exceptionView>;

export async function getException(db: Knex, id: string): Promise<QueriedRow | undefined> {
  return exceptionQuery(db).where('e.id', id).first();
}

/** The exception, locked for the rest of the transaction; undefined when it does not exist. */
export async function lockException(trx: Knex.Transaction, id: string): Promise<ExceptionRow | undefined> {
  return trx('exceptions').where({ id }).forUpdate().first();
}

/** Changes an exception, guarded by version: `current` must be what the caller locked in this transaction. */
export async function changeException(trx: Knex.Transaction, current: ExceptionRow, changes: Partial<ExceptionRow>): Promise<ExceptionRow> {
  const [updated] = await trx('exceptions')
    .where({ id: current.id, version: current.version })
    .update({ ...changes, version: current.version + 1, updated_at: trx.fn.now() })
    .returning('*');
  if (!updated) throw new Error(`exception ${current.id} changed concurrently (version ${current.version})`);
  return updated as ExceptionRow;
}

/** Ends an approved exception (revoked or expired); the caller writes the audit row with the returned view and reopens its findings. */
export async function endException(
  trx: Knex.Transaction,
  current: ExceptionRow,
  ending: { status: 'revoked' | 'expired'; actor: string; note: string | null },
): Promise<{ row: ExceptionRow; view: ExceptionView }> {
  const row = await changeException(trx, current, { status: ending.status });
  return { row, view: exceptionView(row, { ended_by: ending.actor, ended_at: row.updated_at, end_note: ending.note }) };
}
