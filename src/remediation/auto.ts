import type { Knex } from 'knex';
import type { AuditContext } from '../audit/repository.js';
import { HttpProblem } from '../http/problem.js';
import { ACTIONS } from './actions/index.js';
import { enqueueExecution, startExecution, type RemediationJobContext } from './jobs.js';
import { createPlan, MAX_RESOURCES } from './planning.js';
import { getRemediation, LIVE_STATUSES } from './store.js';

export const AUTO_CONTEXT: AuditContext = { actor: 'system:auto-remediation', actorKeyId: null, role: 'system' };

const LOW_RISK = ACTIONS.filter((a) => a.risk === 'low').map((a) => a.name);

/**
 * After an evaluation (CUSTOS_AUTO_REMEDIATE=true): the open findings it reported whose rule allows
 * auto-remediation (`auto_remediate: true` in its metadata) and whose action is low risk are planned
 * and executed without approval, one remediation per rule, with the same records as any other.
 * Findings already being remediated are left to that remediation.
 */
export async function autoRemediate(context: RemediationJobContext, evaluationId: string): Promise<string[]> {
  const { db } = context;
  const candidates: Array<{ rule_id: string; resource_id: string }> = await db('findings as f')
    .join('evaluation_findings as ef', 'ef.finding_id', 'f.id')
    .where('ef.evaluation_id', evaluationId)
    .where('ef.reported', true)
    .where('f.status', 'open')
    .whereRaw(`(f.rule->>'auto_remediate') = 'true'`)
    .whereIn(db.raw(`f.rule->>'remediation'`) as unknown as string, LOW_RISK)
    .whereNotExists((q: Knex.QueryBuilder) =>
      q.select(1).from('remediation_resources as rr').join('remediations as r', 'r.id', 'rr.remediation_id').whereRaw('rr.finding_id = f.id').whereIn('r.status', [...LIVE_STATUSES, 'dry_run']),
    )
    .orderBy(['f.rule_id', 'f.id'])
    .select('f.rule_id', 'f.resource_id');
  const byRule = new Map<string, string[]>();
  for (const c of candidates) byRule.set(c.rule_id, [...(byRule.get(c.rule_id) ?? []), c.resource_id]);
  const started: string[] = [];
  for (const [ruleId, resourceIds] of byRule) {
    for (let i = 0; i < resourceIds.length; i += MAX_RESOURCES) {
      try {
        const { remediation } = await createPlan(db, { rule_id: ruleId, resource_ids: resourceIds.slice(i, i + MAX_RESOURCES) }, { context: AUTO_CONTEXT, trigger: 'auto', aws: context.aws });
        if (remediation.approval_required) continue;
        const executing = await db.transaction(async (trx) => startExecution(trx, (await getRemediation(trx, remediation.id, true))!, AUTO_CONTEXT));
        await enqueueExecution(context, executing);
        started.push(remediation.id);
      } catch (error) {
        // Nothing to do (already fixed), no source for the account, AWS unreadable: the next evaluation tries again.
        context.log.warn({ rule: ruleId, err: error instanceof HttpProblem ? error.detail : (error as Error).message }, 'auto-remediation not started');
      }
    }
  }
  return started;
}
