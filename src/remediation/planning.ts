import { Value } from '@sinclair/typebox/value';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import type { AuditContext } from '../audit/repository.js';
import { recordAudit } from '../audit/repository.js';
import type { FindingRow as Finding } from '../evaluation/findings-repository.js';
import { conflict, HttpProblem, invalidField } from '../http/problem.js';
import { describeAwsError } from '../sources/aws.js';
import { IdentityMismatch } from '../sources/identity.js';
import type { GrantSource } from '../access/grants/lakeformation.js';
import { assertSourceIdentity } from './aws.js';
import { actionNamed, ANY_RULE_ACTIONS, handles, NotApplicable, sameState, type AwsSettings, type Change, type RemediationAction } from './actions/index.js';
import { assertNotBusy, ENTITY, insertRemediation, insertResources, remediationEvidence, sourceById, sourceFor, summary, type RemediationRow, type ResourceRow } from './store.js';

/** Most resources one plan may hold (one request, one approval, one job). */
export const MAX_RESOURCES = 500;

export interface PlanRequest {
  finding_id?: string;
  rule_id?: string;
  account?: string;
  region?: string;
  resource_ids?: string[];
  action?: string;
  params?: Record<string, unknown>;
}

/** A 400 naming `params.<path>` for each parameter the action's schema refuses. */
export function checkParams(action: RemediationAction, params: Record<string, unknown>): void {
  const first = [...Value.Errors(action.params, params)][0];
  if (first) {
    const field = `params${first.path.replaceAll('/', '.')}`;
    throw invalidField(field === 'params' ? 'params' : field, `${first.message} (action ${action.name})`);
  }
}

/** The action for a rule's findings: the rule's own `remediation`, or one that applies to any rule. */
function chooseAction(rule: Record<string, unknown>, ruleId: string, requested: string | undefined): RemediationAction {
  const named = String(rule.remediation ?? 'none');
  if (requested === undefined) {
    if (named === 'none') throw invalidField('action', `rule ${ruleId} names no remediation action; name one that applies to any rule (${ANY_RULE_ACTIONS.join(', ')})`);
    return actionNamed(named, 'action');
  }
  const action = actionNamed(requested);
  if (requested !== named && !ANY_RULE_ACTIONS.includes(requested)) throw invalidField('action', `rule ${ruleId} is remediated by ${named}, not ${requested}`);
  return action;
}

/** The open findings a request names, all of one rule. */
async function findingsOf(db: Knex, body: PlanRequest): Promise<Finding[]> {
  if ((body.finding_id === undefined) === (body.rule_id === undefined)) throw invalidField(body.finding_id ? 'rule_id' : 'finding_id', 'give either finding_id or rule_id (with optional account, region, resource_ids)');
  if (body.finding_id !== undefined) {
    for (const field of ['account', 'region', 'resource_ids'] as const) if (body[field] !== undefined) throw invalidField(field, 'only with rule_id');
    const finding: Finding | undefined = await db('findings').where({ id: body.finding_id }).first();
    if (!finding) throw invalidField('finding_id', `finding ${body.finding_id} does not exist`);
    if (finding.status !== 'open') throw conflict(`finding ${finding.id} is ${finding.status}: there is nothing to remediate`);
    return [finding];
  }
  const query = db('findings').where({ rule_id: body.rule_id, status: 'open' }).orderBy('id').limit(MAX_RESOURCES + 1);
  if (body.account !== undefined) query.where({ account: body.account });
  if (body.region !== undefined) query.where({ region: body.region });
  if (body.resource_ids !== undefined) query.whereIn('resource_id', body.resource_ids);
  const found: Finding[] = await query;
  if (found.length === 0) throw conflict(`no open finding of rule ${body.rule_id} matches`);
  if (found.length > MAX_RESOURCES) throw invalidField('rule_id', `more than ${MAX_RESOURCES} open findings match: narrow by account, region or resource_ids`);
  return found;
}

export interface PlannedResource {
  finding: Finding;
  sourceId: string;
  change: Change;
}

/** What a failed read of AWS becomes for the caller: AWS's own refusal is a 503 naming the operation. */
function awsProblem(action: RemediationAction, resourceId: string, error: unknown): HttpProblem {
  return new HttpProblem(503, 'aws-unavailable', `${describeAwsError(`${action.name} read of ${resourceId}`, error)}`);
}

/**
 * The source, once STS says its credentials reach its account: a mismatch is a 409 naming both
 * accounts, an unanswered check a 503 (fail closed); in neither case is anything read or changed.
 */
async function verifiedSource(source: GrantSource, aws: AwsSettings): Promise<GrantSource> {
  try {
    await assertSourceIdentity(source, aws);
    return source;
  } catch (error) {
    if (error instanceof IdentityMismatch) throw new HttpProblem(409, 'identity-mismatch', `source ${source.name ?? source.id}: ${error.message}`);
    throw new HttpProblem(503, 'aws-unavailable', `source ${source.name ?? source.id}: ${(error as Error).message}`);
  }
}

/**
 * Makes a dry-run plan from findings: for each, reads the resource from AWS now (never from the
 * run's data, which may be stale) and stores the before/after diff. Nothing changes in AWS. Findings
 * already being remediated are refused; with rule_id, resources already in the wanted state are
 * listed as skipped.
 */
export async function createPlan(
  db: Knex,
  body: PlanRequest,
  who: { context: AuditContext; trigger: 'api' | 'auto'; aws: AwsSettings },
): Promise<{ remediation: RemediationRow; skipped: Array<{ finding_id: string; resource_id: string; reason: string }> }> {
  const findings = await findingsOf(db, body);
  const rule = findings[0]!.rule;
  const action = chooseAction(rule, findings[0]!.rule_id, body.action);
  const params = body.params ?? {};
  checkParams(action, params);
  await assertNotBusy(db, findings.map((f) => f.id));

  const id = uuidv7();
  const planned: PlannedResource[] = [];
  const skipped: Array<{ finding_id: string; resource_id: string; reason: string }> = [];
  for (const finding of findings) {
    if (!handles(action, finding.resource_type)) throw invalidField('action', `${action.name} does not handle ${finding.resource_type} (it handles ${action.resourceTypes.join(', ')})`);
    const source = await verifiedSource(await sourceFor(db, finding.account, finding.region, body.finding_id ? 'finding_id' : 'rule_id'), who.aws);
    try {
      const change = await action.plan({ db, source, aws: who.aws, params, remediationId: id }, finding);
      planned.push({ finding, sourceId: source.id, change });
    } catch (error) {
      if (!(error instanceof NotApplicable)) throw awsProblem(action, finding.resource_id, error);
      if (body.finding_id) throw conflict(`${error.message}: nothing to remediate`);
      skipped.push({ finding_id: finding.id, resource_id: finding.resource_id, reason: error.message });
    }
  }
  if (planned.length === 0) throw conflict(`nothing to remediate: ${skipped.map((s) => s.reason).join('; ')}`);

  const remediation = await db.transaction(async (trx) => {
    const row = await insertRemediation(trx, {
      id,
      action: action.name,
      risk: action.risk,
      params,
      rule_id: findings[0]!.rule_id,
      controls: (rule.controls as string[] | undefined) ?? findings[0]!.controls,
      status: 'dry_run',
      trigger: who.trigger,
      requester: who.context.actor,
      requester_key_id: who.context.actorKeyId,
      requester_subject: who.context.subject ?? who.context.actor,
      // Low-risk actions run unapproved only where the rule allows auto-remediation.
      approval_required: action.risk === 'high' || rule.auto_remediate !== true,
    });
    const resources = await insertResources(
      trx,
      planned.map((p, position) => ({
        id: uuidv7(),
        remediation_id: id,
        position,
        finding_id: p.finding.id,
        source_id: p.sourceId,
        resource_type: p.finding.resource_type,
        resource_id: p.finding.resource_id,
        account: p.finding.account,
        region: p.finding.region,
        before: p.change.before,
        after: p.change.after,
        status: 'planned',
      })),
    );
    const diff = resources.map((r) => ({ resource_type: r.resource_type, resource_id: r.resource_id, before: r.before, after: r.after }));
    await recordAudit(trx, who.context, { action: 'plan', entity: ENTITY, entityId: id, newValue: { ...summary(row), params, resources: diff, skipped } });
    await remediationEvidence(trx, row, 'planned', { actor: who.context.actor, resources: diff });
    return row;
  });
  return { remediation, skipped };
}

/**
 * Re-reads every resource not yet changed and returns those whose state differs from what was
 * planned (or that can no longer be read as planned). Execution is refused until they are re-planned.
 */
export async function driftedResources(db: Knex, remediation: RemediationRow, resources: ResourceRow[], aws: AwsSettings): Promise<Array<{ resource_id: string; now: unknown; planned: unknown }>> {
  const action = actionNamed(remediation.action);
  const drifted = [];
  for (const resource of resources.filter((r) => r.status === 'planned' || r.status === 'failed')) {
    const source = await verifiedSource(await sourceById(db, resource.source_id), aws);
    try {
      const now = await action.read({ db, source, aws, params: remediation.params, remediationId: remediation.id }, resource);
      // A failed apply that took effect after all is not drift: the retry confirms it without calling again.
      if (!sameState(now, resource.before) && !(resource.status === 'failed' && action.applied(now, resource))) drifted.push({ resource_id: resource.resource_id, now, planned: resource.before });
    } catch (error) {
      if (error instanceof NotApplicable) drifted.push({ resource_id: resource.resource_id, now: error.message, planned: resource.before });
      else if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) drifted.push({ resource_id: resource.resource_id, now: describeAwsError('read', error), planned: resource.before });
      else throw awsProblem(action, resource.resource_id, error);
    }
  }
  return drifted;
}
