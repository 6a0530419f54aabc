import type { Knex } from 'knex';
import { appendEvidence } from '../evidence/chain.js';
import type { ChangeRow } from './store.js';

/** SOC 2 CC8.1: changes are authorised, approved and recorded. */
export const CHANGE_CONTROL = 'CC8.1';

export type ChangeEvent = 'proposed' | 'applied' | 'rejected' | 'withdrawn' | 'expired' | 'break_glass';

/** One CC8.1 evidence item per event of a pending change; a break-glass change is flagged as such. */
export async function recordChangeEvidence(trx: Knex.Transaction, event: ChangeEvent, change: ChangeRow): Promise<void> {
  await appendEvidence(trx, [
    {
      control_id: CHANGE_CONTROL,
      kind: 'change',
      source_id: change.id,
      collected_at: new Date().toISOString(),
      bundle_revision: null,
      body: {
        event,
        break_glass: change.break_glass_reason !== null,
        change: {
          id: change.id,
          kind: change.kind,
          entity: change.entity,
          entity_id: change.entity_id,
          summary: change.summary,
          reasons: change.reasons,
          payload: change.payload,
          status: change.status,
          proposed_by: change.proposed_by,
          proposer_subject: change.proposer_subject,
          break_glass_reason: change.break_glass_reason,
          decided_by: change.decided_by,
          decider_subject: change.decider_subject,
          decision_note: change.decision_note,
          approvers: { roles: change.approver_roles, subjects: change.approver_subjects },
          expires_at: new Date(change.expires_at).toISOString(),
        },
      },
    },
  ]);
}
