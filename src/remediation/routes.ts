import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { samePerson } from '../auth/identity.js';
import { auditContext, sameSubject } from '../auth/plugin.js';
import { guardedChange, PendingChange, sendOutcome, stale } from '../changes/index.js';
import { OVERSIGHT, RISK_OWNERS } from '../auth/roles.js';
import { pageOf, paginate } from '../db/pagination.js';
import { checkIfMatch, etagOf } from '../http/crud.js';
import { conflict, HttpProblem, notFound, problemResponses } from '../http/problem.js';
import { IdParams, Page, PageQuery } from '../http/schemas.js';
import { ACTIONS, actionNamed, type AwsSettings } from './actions/index.js';
import { enqueueExecution, enqueueRollback, startExecution, type RemediationJobContext } from './jobs.js';
import { createPlan, driftedResources } from './planning.js';
import { ActionDescription, CommentBody, EmptyBody, PlanBody, Remediation, RemediationFilters, RemediationSummary } from './schemas.js';
import { assertNotBusy, changeRemediation, getRemediation, latestApproval, remediationEvidence, remediationView, resourcesOf, type RemediationRow, type RemediationStatus } from './store.js';

const TAG = 'remediation';

const findingIdsOf = async (db: Knex, id: string): Promise<string[]> => (await resourcesOf(db, id)).map((r) => r.finding_id);

/** Statuses from which a plan may be (re)approved and executed (a retry completes what is left), and rolled back. */
const EXECUTABLE: RemediationStatus[] = ['dry_run', 'approved', 'partially_applied', 'failed', 'applied'];
const ROLLBACKABLE: RemediationStatus[] = ['applied', 'partially_applied', 'failed', 'verified', 'rollback_failed'];

async function send(app: FastifyInstance, reply: FastifyReply, remediation: RemediationRow, status = 200, extra: Record<string, unknown> = {}) {
  return reply.code(status).header('etag', etagOf(remediation)).send({ ...(await remediationView(app.db, remediation)), ...extra });
}

/** Four-eyes: a compliance officer or admin who is not the requester, by identity (subject, and key issuance: src/auth/identity.ts). */
async function assertNotRequester(trx: Knex.Transaction, request: FastifyRequest, remediation: RemediationRow): Promise<void> {
  const actor = request.actor;
  if (sameSubject(actor, remediation.requester_subject)) {
    throw new HttpProblem(403, 'forbidden', `${actor.name} requested remediation ${remediation.id} and may not approve it: a compliance officer or admin who is not the requester approves`);
  }
  const same = await samePerson(trx, actor, remediation.requester_subject);
  if (same) {
    throw new HttpProblem(403, 'forbidden', `${remediation.requester_subject} requested remediation ${remediation.id} and ${actor.subject} counts as the same person (${same}): a compliance officer or admin unrelated by key issuance approves`);
  }
}

/** Refuses a rollback the remediation cannot take (409). */
function rollbackable(remediation: RemediationRow): void {
  if (!actionNamed(remediation.action).rollback) throw conflict(`${remediation.action} cannot be undone`);
  if (!ROLLBACKABLE.includes(remediation.status)) throw conflict(`remediation ${remediation.id} is ${remediation.status}: there is nothing to roll back`);
}

/** Routes of remediation: plan (dry run), approve, execute, roll back, and the registry of actions. */
export default async function remediationRoutes(app: FastifyInstance): Promise<void> {
  const aws: AwsSettings = { endpoint: app.config.awsEndpointUrl, maxAttempts: app.config.awsMaxAttempts };
  const jobs: Pick<RemediationJobContext, 'send'> = { send: (queue, data, key) => app.jobs.send(queue, data, key) };

  const load = async (id: string) => {
    const found = await getRemediation(app.db, id);
    if (!found) throw notFound('remediation', id);
    return found;
  };
  /** The remediation locked for the rest of the transaction, checked against If-Match when sent. */
  const lockedIn = async (trx: Parameters<typeof getRemediation>[0], request: FastifyRequest, id: string) => {
    const current = await getRemediation(trx, id, true);
    if (!current) throw notFound('remediation', id);
    checkIfMatch(request, current, false);
    return current;
  };

  app.get('/v1/remediation-actions', {
    config: { roles: OVERSIGHT },
    schema: { tags: [TAG], summary: 'The registry of remediation actions', querystring: Type.Object(PageQuery, { additionalProperties: false }), response: { 200: Page(ActionDescription), ...problemResponses(400, 401, 403) } },
    handler: async (request) =>
      pageOf(
        ACTIONS.map((a) => ({ name: a.name, description: a.description, resource_types: a.resourceTypes, risk: a.risk, permissions: a.permissions, params: a.params, rollback: a.rollback !== undefined })),
        request.query as { limit?: number; cursor?: string },
        (a) => a.name,
      ),
  });

  app.post('/v1/remediations', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: [TAG],
      summary: 'Plan a remediation (dry run): read each resource from AWS now and store the before/after diff',
      description:
        'From one open finding (finding_id) or the open findings of a rule (rule_id, narrowed by account, region, resource_ids). Nothing changes in AWS. ' +
        "The action is the rule's `remediation` unless `action` names one that applies to any rule (config_remediation). Resources are reached through the registered source of their account and region.",
      body: PlanBody,
      response: { 201: Remediation, ...problemResponses(400, 401, 403, 409, 413, 415, 503) },
    },
    handler: async (request, reply) => {
      const { remediation, skipped } = await createPlan(app.db, request.body as PlanBody, { context: auditContext(request), trigger: 'api', aws });
      reply.header('location', `/v1/remediations/${remediation.id}`);
      return send(app, reply, remediation, 201, { skipped });
    },
  });

  app.get('/v1/remediations', {
    config: { roles: OVERSIGHT },
    schema: {
      tags: [TAG],
      summary: 'Remediations, oldest first',
      querystring: Type.Object({ ...PageQuery, ...RemediationFilters.properties }, { additionalProperties: false }),
      response: { 200: Page(RemediationSummary), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const { status, rule_id, finding_id, ...page } = request.query as { status?: string; rule_id?: string; finding_id?: string; limit?: number; cursor?: string };
      const query = app.db('remediations').select('*');
      if (status) query.where({ status });
      if (rule_id) query.where({ rule_id });
      if (finding_id) query.whereIn('id', app.db('remediation_resources').select('remediation_id').where({ finding_id }));
      const result = await paginate<RemediationRow & Record<string, unknown>>(query, page);
      return { items: result.items.map(({ requester_key_id: _k, ...r }) => r), next_cursor: result.next_cursor };
    },
  });

  app.get('/v1/remediations/:id', {
    config: { roles: OVERSIGHT },
    schema: { tags: [TAG], summary: 'One remediation: plan, approvals, per-resource outcome and execution log', params: IdParams, response: { 200: Remediation, ...problemResponses(400, 401, 403, 404) } },
    handler: async (request, reply) => send(app, reply, await load((request.params as IdParams).id)),
  });

  app.post('/v1/remediations/:id/approve', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: [TAG],
      summary: 'Approve a plan (four-eyes)',
      description: `By a compliance officer or admin who is not the requester (403). Valid for CUSTOS_REMEDIATION_APPROVAL_HOURS (default 24 h); an expired approval can be renewed. If-Match is honoured when sent.`,
      params: IdParams,
      body: CommentBody,
      response: { 200: Remediation, ...problemResponses(400, 401, 403, 404, 409, 412) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const { comment } = request.body as { comment?: string };
      const approved = await app.db.transaction(async (trx) => {
        const current = await lockedIn(trx, request, id);
        if (!EXECUTABLE.includes(current.status)) throw conflict(`remediation ${id} is ${current.status}: there is nothing to approve`);
        await assertNotRequester(trx, request, current);
        await assertNotBusy(trx, await findingIdsOf(trx, id), id);
        const [approval] = await trx('remediation_approvals')
          .insert({
            id: uuidv7(),
            remediation_id: id,
            approver: request.actor.name,
            approver_key_id: request.actor.keyId,
            approver_subject: request.actor.subject,
            role: request.actor.role,
            comment: comment ?? null,
            expires_at: trx.raw('now() + make_interval(hours => ?)', [app.config.remediationApprovalHours]),
          })
          .returning('*');
        const updated = await changeRemediation(trx, current, { status: current.status === 'dry_run' ? 'approved' : current.status }, {
          context: auditContext(request),
          action: 'approve',
          detail: { approval: { approver: approval.approver, comment: approval.comment, expires_at: approval.expires_at } },
        });
        await remediationEvidence(trx, updated, 'approved', { approver: request.actor.name, role: request.actor.role, comment: comment ?? null, expires_at: approval.expires_at });
        return updated;
      });
      return send(app, reply, approved);
    },
  });

  app.post('/v1/remediations/:id/execute', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: [TAG],
      summary: 'Execute an approved plan in the background (also retries a partially applied one)',
      description:
        'Needs a valid approval unless the action is low risk and the rule allows auto-remediation (409 approval-required / approval-expired). Every resource not yet changed is read again: ' +
        'if it differs from the plan, 409 replan-required (make a new plan). Resources already applied are never applied again.',
      params: IdParams,
      body: EmptyBody,
      response: { 202: Remediation, ...problemResponses(400, 401, 403, 404, 409, 412, 503) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const current = await load(id);
      checkIfMatch(request, current, false);
      if (!EXECUTABLE.includes(current.status)) throw conflict(`remediation ${id} is ${current.status}: it cannot be executed`);
      if (current.approval_required) {
        const approval = await latestApproval(app.db, id);
        if (!approval || current.status === 'dry_run') {
          throw new HttpProblem(409, 'approval-required', `remediation ${id} (${current.action}, risk ${current.risk}) needs the approval of a compliance officer or admin who is not the requester (${current.requester})`);
        }
        if (Date.parse(approval.expires_at) <= Date.now()) throw new HttpProblem(409, 'approval-expired', `the approval of remediation ${id} expired at ${new Date(approval.expires_at).toISOString()}: approve it again`);
      }
      const drifted = await driftedResources(app.db, current, await resourcesOf(app.db, id), aws);
      if (drifted.length > 0) {
        throw new HttpProblem(409, 'replan-required', `re-plan: ${drifted.length} resource(s) changed since planning (${drifted.map((d) => d.resource_id).join(', ')}); create a new plan from the findings`);
      }
      const executing = await app.db.transaction(async (trx) => {
        const locked = await lockedIn(trx, request, id);
        if (locked.version !== current.version) throw conflict(`remediation ${id} changed while it was being checked: try again`);
        await assertNotBusy(trx, await findingIdsOf(trx, id), id);
        return startExecution(trx, locked, auditContext(request));
      });
      await enqueueExecution(jobs, executing);
      return send(app, reply, executing, 202);
    },
  });

  // A rollback changes AWS back to its unremediated state: two people decide it (src/changes/).
  const rollback = app.changeKinds.register({
    kind: 'remediations.rollback',
    entity: 'remediations',
    apply: async (trx, target, context) => {
      const { comment } = target.payload as { comment: string | null };
      const current = await getRemediation(trx, target.entityId, true);
      if (!current) throw notFound('remediation', target.entityId);
      if (target.baseVersion !== null && current.version !== target.baseVersion) throw stale('remediation', target.entityId, target.baseVersion, current.version);
      rollbackable(current);
      const updated = await changeRemediation(trx, current, { status: 'rolling_back', last_error: null }, { context, action: 'rollback_requested', detail: { comment, pending_change_id: context.pendingChangeId ?? null } });
      await remediationEvidence(trx, updated, 'rollback_requested', { actor: context.actor, comment, pending_change_id: context.pendingChangeId ?? null, break_glass_reason: context.breakGlassReason ?? null });
      return { result: updated, afterCommit: () => enqueueRollback(jobs, updated) };
    },
  });

  app.post('/v1/remediations/:id/rollback', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: [TAG],
      summary: 'Propose restoring the "before" state of every resource the remediation changed',
      description:
        'A rollback undoes a fix in AWS, so it is a pending change (202 with the pending change) until a second compliance officer or an admin approves it ' +
        '(POST /v1/pending-changes/:id/approve); then it runs in the background. An admin may break glass (202 with the remediation, rolling back). ' +
        '409 when the action cannot be undone (config_remediation) or the plan never ran. Failed resources are rolled back too if, read now, their change took effect after all.',
      params: IdParams,
      body: CommentBody,
      response: { 202: Type.Union([Remediation, PendingChange]), ...problemResponses(400, 401, 403, 404, 409, 412) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const { comment } = request.body as { comment?: string };
      const outcome = await guardedChange(request, rollback, async (trx) => {
        const current = await lockedIn(trx, request, id);
        rollbackable(current);
        return {
          entityId: id,
          baseVersion: current.version,
          payload: { comment: comment ?? null },
          summary: `roll back remediation ${id} (${current.action}, rule ${current.rule_id})`,
          reasons: [`rolling back ${current.action} restores the state its rule ${current.rule_id} reported as a finding`],
          approvers: { roles: ['admin', 'compliance_officer'], subjects: [] },
        };
      });
      return sendOutcome(reply, outcome, (rolling) => send(app, reply, rolling as RemediationRow, 202));
    },
  });
}
