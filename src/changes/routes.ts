import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { ACCESS_DATA_CHANNEL } from '../access/runtime.js';
import { recordAudit } from '../audit/repository.js';
import { relativesOf, samePersonAs } from '../auth/identity.js';
import { auditContext } from '../auth/plugin.js';
import { CATALOG_READERS } from '../auth/roles.js';
import { paginate } from '../db/pagination.js';
import { notifyOnCommit } from '../db/notifications.js';
import { requestCatalogEvaluation } from '../evaluation/catalog-requests.js';
import { checkIfMatch, etagOf } from '../http/crud.js';
import { conflict, HttpProblem, notFound, problemResponses } from '../http/problem.js';
import { IdParams, Page, PageQuery, type Role } from '../http/schemas.js';
import { recordChangeEvidence, type ChangeEvent } from './evidence.js';
import { ChangeFilters, NoteBody, PendingChange, RequiredNoteBody } from './schemas.js';
import { changeView, CHANGES_ENTITY, lockChange, getChange, mayApprove, updateChange, type ChangeRow } from './store.js';

const TAG = 'pending changes';
/** Roles that propose protection-lowering changes and may take part in deciding them. */
const DECIDERS: readonly Role[] = ['admin', 'steward', 'compliance_officer'];

/** Sends a route's outcome: the applied result as usual, or 202 with the pending change. */
export function sendOutcome(reply: FastifyReply, outcome: { applied: unknown } | { pending: ReturnType<typeof changeView> }, send: (result: unknown) => unknown) {
  if ('pending' in outcome) {
    return reply.code(202).header('location', `/v1/pending-changes/${outcome.pending.id}`).header('etag', etagOf(outcome.pending)).send(outcome.pending);
  }
  return send(outcome.applied);
}

/** Routes of pending changes (four-eyes): list, read, approve, reject, withdraw. */
export default async function pendingChangeRoutes(app: FastifyInstance): Promise<void> {
  const send = async (reply: FastifyReply, row: ChangeRow, request: FastifyRequest) => {
    // can_approve compares the caller with the proposer as one person (key issuance included).
    const relatives = row.status === 'pending' ? await relativesOf(app.db, request.actor.subject) : undefined;
    const view = changeView(row, request.actor, relatives);
    return reply.header('etag', etagOf(view)).send(view);
  };

  /** Locks the change for a decision: pending, at the version the client named (If-Match, when sent). */
  const lockPending = async (trx: Knex.Transaction, request: FastifyRequest, id: string) => {
    const current = await lockChange(trx, id);
    if (!current) throw notFound('pending change', id);
    checkIfMatch(request, current, false);
    if (current.status !== 'pending') throw conflict(`pending change ${id} is ${current.status}`);
    return current;
  };

  const decide = async (trx: Knex.Transaction, request: FastifyRequest, current: ChangeRow, event: ChangeEvent, changes: Partial<ChangeRow>, action: string) => {
    const row = await updateChange(trx, current, { ...changes, decided_by: request.actor.name, decider_subject: request.actor.subject, decided_at: new Date().toISOString() });
    await recordAudit(trx, { ...auditContext(request), pendingChangeId: row.id }, { action, entity: CHANGES_ENTITY, entityId: row.id, oldValue: changeView(current), newValue: changeView(row) });
    await recordChangeEvidence(trx, event, row);
    return row;
  };

  app.get('/v1/pending-changes', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: [TAG],
      summary: 'Pending changes (four-eyes), oldest first, with who may approve each',
      description: 'Changes that lower protection wait here for a second person; break-glass changes are listed too (status applied, break_glass_reason set).',
      querystring: Type.Object({ ...PageQuery, ...ChangeFilters }, { additionalProperties: false }),
      response: { 200: Page(PendingChange), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const { status, kind, entity, entity_id, proposer_subject, can_approve, break_glass, ...page } = request.query as Record<string, any>;
      const query = app.db('pending_changes').select('*');
      for (const [field, value] of Object.entries({ status, kind, entity, entity_id, proposer_subject })) if (value !== undefined) query.where(field, value);
      if (break_glass !== undefined) query[break_glass ? 'whereNotNull' : 'whereNull']('break_glass_reason');
      const relatives = await relativesOf(app.db, request.actor.subject);
      if (can_approve !== undefined) {
        const { role, subject } = request.actor;
        const approvable = (qb: any) =>
          qb
            .where('status', 'pending')
            .where('expires_at', '>', app.db.fn.now())
            .whereNotIn('proposer_subject', [subject, ...relatives.issuers, ...relatives.issued])
            .where((inner: any) => inner.whereRaw('approver_roles @> ?::jsonb', [JSON.stringify([role])]).orWhereRaw('approver_subjects @> ?::jsonb', [JSON.stringify([subject])]));
        if (can_approve) query.where(approvable);
        else query.whereNot(approvable);
      }
      const result = await paginate<ChangeRow & Record<string, unknown>>(query, page);
      return { items: result.items.map((row) => changeView(row, request.actor, relatives)), next_cursor: result.next_cursor };
    },
  });

  app.get('/v1/pending-changes/:id', {
    config: { roles: CATALOG_READERS },
    schema: { tags: [TAG], summary: 'One pending change', params: IdParams, response: { 200: PendingChange, ...problemResponses(400, 401, 403, 404) } },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const row = await getChange(app.db, id);
      if (!row) throw notFound('pending change', id);
      return send(reply, row, request);
    },
  });

  app.post('/v1/pending-changes/:id/approve', {
    config: { roles: DECIDERS },
    schema: {
      tags: [TAG],
      summary: 'Approve a pending change: it is applied now, with its audit row, in one transaction',
      description:
        'By someone listed in `approvers` who is not the proposer (compared by identity, not key). 409 when it expired, was decided, or the entity changed since it was proposed (then reject it and propose again).',
      params: IdParams,
      body: NoteBody,
      response: { 200: PendingChange, ...problemResponses(400, 401, 403, 404, 409, 412) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const { note } = request.body as { note?: string };
      let afterCommit: (() => Promise<void>) | undefined;
      let catalogChanged = false;
      const row = await app.db.transaction(async (trx) => {
        const current = await lockPending(trx, request, id);
        if (Date.parse(current.expires_at) <= Date.now()) throw conflict(`pending change ${id} expired at ${new Date(current.expires_at).toISOString()}: propose it again`);
        if (request.actor.subject === current.proposer_subject) {
          throw new HttpProblem(403, 'forbidden', `${request.actor.subject} proposed this change and may not approve it: a second person approves (an admin may break glass on the original request instead)`);
        }
        // A key issued by the proposer, or the issuer of the proposer's key, is the proposer again.
        const relatives = await relativesOf(trx, request.actor.subject);
        const same = samePersonAs(relatives, current.proposer_subject);
        if (same) {
          throw new HttpProblem(
            403,
            'forbidden',
            `${current.proposer_subject} proposed this change and ${request.actor.subject} counts as the same person: ${same}. A second person, who neither issued the proposer's key nor holds a key the proposer issued, approves (an admin may break glass on the original request instead)`,
          );
        }
        if (!mayApprove(request.actor, current, relatives)) {
          const who = [...current.approver_roles.map((r) => `role ${r}`), ...current.approver_subjects].join(', ');
          throw new HttpProblem(403, 'forbidden', `only ${who} may approve this change; this key's subject is ${request.actor.subject} (${request.actor.role})`);
        }
        const kind = app.changeKinds.get(current.kind);
        if (!kind) throw conflict(`pending change ${id} is of kind ${current.kind}, which this version of Custos cannot apply`);
        const applied = await kind.apply(trx, { entityId: current.entity_id, baseVersion: current.base_version, payload: current.payload }, { ...auditContext(request), pendingChangeId: id });
        afterCommit = applied.afterCommit;
        await notifyOnCommit(trx, ACCESS_DATA_CHANNEL, kind.entity);
        catalogChanged = await requestCatalogEvaluation(trx, kind.entity);
        return decide(trx, request, current, 'applied', { status: 'applied', decision_note: note ?? null }, 'approve');
      });
      if (afterCommit) await afterCommit();
      await app.policy?.reloadAccessData();
      // The approved change is in the findings and control statuses the approver reads next.
      if (catalogChanged) await app.jobs?.catalog.evaluate();
      return send(reply, row, request);
    },
  });

  app.post('/v1/pending-changes/:id/reject', {
    config: { roles: DECIDERS },
    schema: {
      tags: [TAG],
      summary: 'Reject a pending change, saying why',
      description: 'By anyone who may approve it (the proposer withdraws instead).',
      params: IdParams,
      body: RequiredNoteBody,
      response: { 200: PendingChange, ...problemResponses(400, 401, 403, 404, 409, 412) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const { note } = request.body as { note: string };
      const row = await app.db.transaction(async (trx) => {
        const current = await lockPending(trx, request, id);
        if (!mayApprove(request.actor, current)) throw new HttpProblem(403, 'forbidden', `only those who may approve this change may reject it (the proposer withdraws it)`);
        return decide(trx, request, current, 'rejected', { status: 'rejected', decision_note: note }, 'reject');
      });
      return send(reply, row, request);
    },
  });

  app.post('/v1/pending-changes/:id/withdraw', {
    config: { roles: DECIDERS },
    schema: { tags: [TAG], summary: 'Withdraw a pending change (its proposer, or an admin)', params: IdParams, body: NoteBody, response: { 200: PendingChange, ...problemResponses(400, 401, 403, 404, 409, 412) } },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const { note } = request.body as { note?: string };
      const row = await app.db.transaction(async (trx) => {
        const current = await lockPending(trx, request, id);
        if (request.actor.subject !== current.proposer_subject && request.actor.role !== 'admin') {
          throw new HttpProblem(403, 'forbidden', `only the proposer (${current.proposer_subject}) or an admin may withdraw this change`);
        }
        return decide(trx, request, current, 'withdrawn', { status: 'withdrawn', decision_note: note ?? null }, 'withdraw');
      });
      return send(reply, row, request);
    },
  });
}
