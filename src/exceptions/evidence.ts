import type { Knex } from 'knex';
import { appendEvidence } from '../evidence/chain.js';
import type { PolicyService } from '../policy/service.js';
import type { ExceptionView } from './store.js';

/** The active bundle's rules and revision, or none when no bundle is loaded (evidence still records the event). */
export function activeRules(policy: PolicyService): { rules: Array<{ id: string; controls: string[] }>; revision: string | null } {
  return { rules: policy.rules(), revision: policy.ready ? policy.current().engine.revision : null };
}

/** The controls a rule tests: its metadata in the active bundle, else what its findings were reported under. */
async function controlsOfRule(db: Knex, rules: Array<{ id: string; controls: string[] }>, ruleId: string): Promise<string[]> {
  const rule = rules.find((r) => r.id === ruleId);
  if (rule) return [...rule.controls].sort();
  const { rows } = await db.raw(`SELECT DISTINCT c FROM findings, jsonb_array_elements_text(controls) AS c WHERE rule_id = ? ORDER BY c`, [ruleId]);
  return rows.map((r: { c: string }) => r.c);
}

export type ExceptionEvent = 'approved' | 'rejected' | 'revoked' | 'expired';

/**
 * One evidence item of kind `exception` per control the exception's rule tests: what was decided,
 * by whom, the exception as it now stands, and the findings it turned excepted or reopened.
 */
export async function recordExceptionEvidence(
  trx: Knex.Transaction,
  policy: PolicyService,
  event: { kind: ExceptionEvent; exception: ExceptionView; findings: string[] },
): Promise<number> {
  const { rules, revision } = activeRules(policy);
  const controls = await controlsOfRule(trx, rules, event.exception.rule_id);
  const at = new Date().toISOString();
  const items = controls.map((control) => ({
    control_id: control,
    kind: 'exception' as const,
    source_id: event.exception.id,
    collected_at: at,
    bundle_revision: revision,
    body: {
      event: event.kind,
      control,
      exception: event.exception,
      // approved: the findings it turned excepted; revoked, expired: those it reopened; rejected: none.
      findings: event.findings,
    },
  }));
  if (items.length) await appendEvidence(trx, items);
  return items.length;
}
