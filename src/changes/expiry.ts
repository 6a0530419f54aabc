import type { Knex } from 'knex';
import { recordAudit } from '../audit/repository.js';
import { recordChangeEvidence } from './evidence.js';
import { changeView, CHANGES_ENTITY, EXPIRY_CONTEXT, lockChange, updateChange } from './store.js';

export const CHANGE_EXPIRY_QUEUE = 'pending-change-expiry';

/** Marks pending changes past their expiry as expired, each with its audit row and evidence. Idempotent. */
export async function expirePendingChanges(db: Knex, limit = 500): Promise<number> {
  const due: Array<{ id: string }> = await db('pending_changes').where({ status: 'pending' }).where('expires_at', '<=', db.fn.now()).orderBy('id').limit(limit).select('id');
  let expired = 0;
  for (const { id } of due) {
    await db.transaction(async (trx) => {
      const current = await lockChange(trx, id);
      if (!current || current.status !== 'pending' || Date.parse(current.expires_at) > Date.now()) return;
      const row = await updateChange(trx, current, { status: 'expired', decided_by: EXPIRY_CONTEXT.actor, decider_subject: EXPIRY_CONTEXT.actor, decided_at: new Date().toISOString() });
      await recordAudit(trx, { ...EXPIRY_CONTEXT, pendingChangeId: id }, { action: 'expire', entity: CHANGES_ENTITY, entityId: id, oldValue: changeView(current), newValue: changeView(row) });
      await recordChangeEvidence(trx, 'expired', row);
      expired++;
    });
  }
  return expired;
}
