import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { samePerson } from '../auth/identity.js';
import { sameSubject } from '../auth/plugin.js';
import { CATALOG_READERS, RISK_OWNERS } from '../auth/roles.js';
import { paginate, type SortKey } from '../db/pagination.js';
import { checkIfMatch, etagOf, mutate } from '../http/crud.js';
import { conflict, HttpProblem, invalidField, notFound, problemResponses } from '../http/problem.js';
import { IdParams, Page, PageQuery } from '../http/schemas.js';
import { recordExceptionEvidence, type ExceptionEvent } from './evidence.js';
import { queueReevaluation } from './expiry.js';
import { exceptCoveredFindings, reopenFindings } from './findings.js';
import { ExceptionCreate, ExceptionFilters, ExceptionView, OptionalNoteBody, RequiredNoteBody } from './schemas.js';
import {
  changeException,
  endException,
  EXCEPTIONS_ENTITY,
  exceptionQuery,
  exceptionView,
  getException,
  lockException,
  type ExceptionRow,
  type ExceptionView as View,
} from './store.js';

const TAG = 'exceptions';

/** The scope an exception covers, from the finding it names or from a rule and resource glob. */
async function scopeOf(app: FastifyInstance, body: ExceptionCreate) {
  if (body.finding_id !== undefined) {
    for (const field of ['rule_id', 'resource_pattern', 'account', 'region'] as const) {
      if (body[field] !== undefined) throw invalidField(field, 'give either finding_id, or rule_id with an optional resource scope, not both');
    }
    const finding = await app.db('findings').where({ id: body.finding_id }).first('id', 'rule_id', 'resource_id', 'account', 'region');
    if (!finding) throw invalidField('finding_id', `finding ${body.finding_id} does not exist`);
    // Matched by finding id; the resource columns describe it.
    return { finding_id: finding.id, rule_id: finding.rule_id, resource_pattern: finding.resource_id, account: finding.account || null, region: finding.region || null };
  }
  if (body.rule_id === undefined) throw invalidField('rule_id', 'give finding_id, or rule_id with an optional resource scope');
  // Fail closed: without a loaded bundle the rule cannot be checked (503).
  const rules = app.policy.current().engine.rules();
  if (!rules.some((r) => r.id === body.rule_id)) throw invalidField('rule_id', `no rule of the active policy bundle has id ${body.rule_id} (GET /v1/policies)`);
  return { finding_id: null, rule_id: body.rule_id, resource_pattern: body.resource_pattern ?? '*', account: body.account ?? null, region: body.region ?? null };
}

/** Expiry must be in the future and at most one year ahead: risk is accepted for a bounded time. */
function checkExpiry(expiresAt: string): string {
  const at = new Date(expiresAt);
  const now = new Date();
  const limit = new Date(now);
  limit.setUTCFullYear(limit.getUTCFullYear() + 1);
  if (at <= now) throw invalidField('expires_at', 'must be in the future');
  if (at > limit) throw invalidField('expires_at', `must be at most one year ahead (${limit.toISOString()})`);
  return at.toISOString();
}

/**
 * Four eyes: a compliance officer or admin decides, never the one who asked, by identity (the table's
 * check enforces it too for the subject itself): a key the requester issued, or whose issuer is the
 * requester, counts as the requester (src/auth/identity.ts).
 */
async function assertNotRequester(trx: Knex.Transaction, request: FastifyRequest, current: ExceptionRow, verb: string): Promise<void> {
  if (sameSubject(request.actor, current.requester_subject)) {
    throw new HttpProblem(403, 'forbidden', `${request.actor.name} requested this exception and may not ${verb} it: a second compliance officer or an admin decides`);
  }
  const same = await samePerson(trx, request.actor, current.requester_subject);
  if (same) {
    throw new HttpProblem(403, 'forbidden', `${current.requester_subject} requested this exception and ${request.actor.subject} counts as the same person (${same}): a second compliance officer or an admin, unrelated by key issuance, may ${verb} it`);
  }
}

/** The exception, locked for the transaction, at the version the client named (If-Match) and in the status the action needs. */
async function locked(trx: Knex.Transaction, request: FastifyRequest, id: string, status: ExceptionRow['status']): Promise<ExceptionRow> {
  const current = await lockException(trx, id);
  if (!current) throw notFound('exception', id);
  checkIfMatch(request, current, false);
  if (current.status !== status) throw conflict(`exception ${id} is ${current.status}, not ${status}`);
  return current;
}

const send = (reply: FastifyReply, view: View, status = 200) => reply.code(status).header('etag', etagOf(view)).send(view);

/** Routes of exceptions to findings (/v1/exceptions). */
export default async function exceptionRoutes(app: FastifyInstance): Promise<void> {
  const reevaluate = (request: FastifyRequest) =>
    queueReevaluation({ db: app.db, log: request.log, evaluateRun: (runId, requestedBy) => app.jobs.evaluateRun(runId, 'api', requestedBy) }, request.actor.name);

  app.post('/v1/exceptions', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: [TAG],
      summary: 'Request an exception to a finding, or to a rule within a resource scope',
      description:
        'Pending until a second compliance officer or an admin (not the requester) approves it. Give `finding_id`, or `rule_id` (a rule of the active bundle) with an optional ' +
        '`resource_pattern` glob on resource ids and an optional account and region. `expires_at` must be in the future and at most one year ahead.',
      body: ExceptionCreate,
      response: { 201: ExceptionView, ...problemResponses(400, 401, 403, 413, 415, 503) },
    },
    handler: async (request, reply) => {
      const body = request.body as ExceptionCreate;
      const scope = await scopeOf(app, body);
      const expiresAt = checkExpiry(body.expires_at);
      const created = await mutate(request, { action: 'create', entity: EXCEPTIONS_ENTITY }, async (trx) => {
        const [row] = await trx('exceptions')
          .insert({ id: uuidv7(), status: 'pending', ...scope, justification: body.justification, compensating_control: body.compensating_control, expires_at: expiresAt, requested_by: request.actor.name, requester_subject: request.actor.subject })
          .returning('*');
        const view = exceptionView(row);
        return { result: view, entityId: view.id, newValue: view };
      });
      reply.header('location', `/v1/exceptions/${created.id}`);
      return send(reply, created, 201);
    },
  });

  app.get('/v1/exceptions', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: [TAG],
      summary: 'Exceptions, oldest first; with expiring_before, soonest expiry first',
      querystring: Type.Object({ ...PageQuery, ...ExceptionFilters }, { additionalProperties: false }),
      response: { 200: Page(ExceptionView), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const { status, rule_id, finding_id, expiring_before, ...page } = request.query as { status?: string; rule_id?: string; finding_id?: string; expiring_before?: string; limit?: number; cursor?: string };
      const query = exceptionQuery(app.db);
      if (status) query.where('e.status', status);
      if (rule_id) query.where('e.rule_id', rule_id);
      if (finding_id) query.where('e.finding_id', finding_id);
      if (expiring_before) query.where('e.expires_at', '<', expiring_before);
      const order: SortKey[] = expiring_before ? [{ sql: 'e.expires_at', field: 'expires_at' }, { sql: 'e.id', field: 'id' }] : [{ sql: 'e.id', field: 'id' }];
      const result = await paginate<ExceptionRow & Record<string, unknown>>(query, page, order);
      return { items: result.items.map((row) => exceptionView(row)), next_cursor: result.next_cursor };
    },
  });

  app.get('/v1/exceptions/:id', {
    config: { roles: CATALOG_READERS },
    schema: { tags: [TAG], summary: 'One exception', params: IdParams, response: { 200: ExceptionView, ...problemResponses(400, 401, 403, 404) } },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const found = await getException(app.db, id);
      if (!found) throw notFound('exception', id);
      return send(reply, exceptionView(found));
    },
  });

  /**
   * A decision on an exception in status `from`: the change, its audit row and its evidence (one item
   * per control of the rule) in one transaction; then, where findings changed, a re-evaluation.
   */
  const decision = (
    verb: 'approve' | 'reject' | 'revoke',
    spec: {
      from: ExceptionRow['status'];
      summary: string;
      description: string;
      body: TSchema;
      change: (trx: Knex.Transaction, current: ExceptionRow, request: FastifyRequest, note: string | null) => Promise<{ event: ExceptionEvent; view: View; findings: string[] }>;
    },
  ) =>
    app.post(`/v1/exceptions/:id/${verb}`, {
      config: { roles: RISK_OWNERS },
      schema: {
        tags: [TAG],
        summary: spec.summary,
        description: `${spec.description} Writes an \`exception\` evidence item per control of the rule. If-Match is honoured when sent.`,
        params: IdParams,
        body: spec.body,
        response: { 200: ExceptionView, ...problemResponses(400, 401, 403, 404, 409, 412) },
      },
      handler: async (request, reply) => {
        const { id } = request.params as IdParams;
        const { note } = request.body as { note?: string };
        let findingsChanged = false;
        const result = await mutate(request, { action: verb, entity: EXCEPTIONS_ENTITY }, async (trx) => {
          const current = await locked(trx, request, id, spec.from);
          const { event, view, findings } = await spec.change(trx, current, request, note ?? null);
          await recordExceptionEvidence(trx, app.policy, { kind: event, exception: view, findings });
          findingsChanged = event !== 'rejected';
          return { result: view, entityId: id, oldValue: exceptionView(current), newValue: { ...view, findings_changed: findings.length } };
        });
        if (findingsChanged) await reevaluate(request);
        return send(reply, result);
      },
    });

  const decided = (request: FastifyRequest, status: 'approved' | 'rejected', note: string | null) => ({ status, decided_by: request.actor.name, decider_subject: request.actor.subject, decided_at: new Date().toISOString(), decision_note: note });

  decision('approve', {
    from: 'pending',
    summary: 'Approve a pending exception: the open findings it covers become excepted',
    description:
      'By a compliance officer or admin who did not request it (403 otherwise); refused (409) once its expiry has passed. ' +
      'Queues a re-evaluation of the latest finished collection run, so control status reflects it.',
    body: OptionalNoteBody,
    change: async (trx, current, request, note) => {
      await assertNotRequester(trx, request, current, 'approve');
      if (Date.parse(current.expires_at) <= Date.now()) throw conflict(`exception ${current.id} expired at ${current.expires_at} before it was approved: request a new one`);
      const row = await changeException(trx, current, decided(request, 'approved', note));
      return { event: 'approved', view: exceptionView(row), findings: await exceptCoveredFindings(trx, current.id) };
    },
  });

  decision('reject', {
    from: 'pending',
    summary: 'Reject a pending exception, saying why',
    description: 'Same deciders as approval.',
    body: RequiredNoteBody,
    change: async (trx, current, request, note) => {
      await assertNotRequester(trx, request, current, 'reject');
      const row = await changeException(trx, current, decided(request, 'rejected', note));
      return { event: 'rejected', view: exceptionView(row), findings: [] };
    },
  });

  decision('revoke', {
    from: 'approved',
    summary: 'Revoke an approved exception now: its findings reopen, flagged',
    description:
      'Its excepted findings become open again with exception_expired_at set (unless another approved exception covers them), and a re-evaluation is queued.',
    body: RequiredNoteBody,
    change: async (trx, current, request, note) => {
      const { view } = await endException(trx, current, { status: 'revoked', actor: request.actor.name, note });
      return { event: 'revoked', view, findings: await reopenFindings(trx, current.id) };
    },
  });
}
