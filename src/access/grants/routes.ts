import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { recordAudit } from '../../audit/repository.js';
import { samePerson } from '../../auth/identity.js';
import { auditContext, sameSubject, type Actor } from '../../auth/plugin.js';
import { CATALOG_READERS, RISK_OWNERS } from '../../auth/roles.js';
import { paginate } from '../../db/pagination.js';
import { checkIfMatch, etagOf, mutate } from '../../http/crud.js';
import { conflict, HttpProblem, invalidField, notFound, problemResponses } from '../../http/problem.js';
import { IdParams, Page, PageQuery, type Role } from '../../http/schemas.js';
import { auditGrantAction, enqueueApply, enqueueRevoke, registerSender, type GrantJobContext } from './jobs.js';
import { grantResource, LAKE_FORMATION_STORES, type GrantSource } from './lakeformation.js';
import { LakeFormationUnreadable, reconcile } from './reconcile.js';
import {
  AccessGrant,
  AccessRequest,
  CommentBody,
  EmptyBody,
  GrantFilters,
  ReconcileBody,
  Reconciliation,
  RequestCreate,
  RequestFilters,
  RequiredCommentBody,
} from './schemas.js';
import {
  changeGrant,
  changeRequest,
  getGrant,
  getRequest,
  grantView,
  GRANTS_ENTITY,
  insertRow,
  LIVE_GRANT_STATUSES,
  notifyGrantsChanged,
  owningDomain,
  requestQuery,
  REQUESTS_ENTITY,
  requestView,
  resolveSource,
  type GrantRow,
  type LakeFormationRecord,
  type RequestRow,
} from './store.js';

/** Who may ask for access on someone's behalf, and take part in deciding. */
const REQUESTERS: readonly Role[] = ['admin', 'steward', 'compliance_officer'];
const TAG = 'access';

const forbidden = (detail: string) => new HttpProblem(403, 'forbidden', detail);

/** Whether the actor is the owner or steward of the domain: the domain records their subjects (identities), not key names. */
const ownsOrStewards = (actor: Actor, domain: { owner: string; steward: string }) => sameSubject(actor, domain.owner) || sameSubject(actor, domain.steward);

/** The owner or steward of the owning domain, or an admin; never the requester (compared by subject). */
async function assertCanDecide(request: FastifyRequest, db: Knex, subject: RequestRow, verb: string): Promise<void> {
  const actor = request.actor;
  if (sameSubject(actor, subject.requester_subject)) {
    throw forbidden(`${actor.subject} made this request and may not ${verb} it: the owner or steward of the owning domain, or an admin, decides`);
  }
  // A key the requester issued, or whose issuer is the requester, is the requester again (src/auth/identity.ts).
  const same = await samePerson(db, actor, subject.requester_subject);
  if (same) {
    throw forbidden(`${subject.requester_subject} made this request and ${actor.subject} counts as the same person (${same}): the owner or steward of the owning domain, or an admin, unrelated by key issuance, decides`);
  }
  if (actor.role === 'admin') return;
  const domain = await owningDomain(db, subject);
  if (!domain) throw forbidden(`only an admin may ${verb} a request of scope ${subject.scope}: it has no owning domain in the catalog`);
  if (!ownsOrStewards(actor, domain)) {
    throw forbidden(`only the owner (${domain.owner}) or steward (${domain.steward}) of domain ${domain.name}, or an admin, may ${verb} this request; this key's subject is ${actor.subject}`);
  }
}

/** The Lake Formation record a grant starts with: where and what will be granted. */
function plannedRecord(subject: RequestRow, source: GrantSource | null): LakeFormationRecord {
  const resource = grantResource(subject);
  const note =
    resource !== null
      ? undefined
      : subject.scope === 'domain'
        ? 'scope domain: recorded for Custos access decisions; Lake Formation has no domain resource, so nothing is granted there'
        : `store ${subject.store} is not in the Glue Data Catalog: recorded for Custos access decisions; nothing is granted in Lake Formation`;
  return {
    source: resource ? source : null,
    catalog_id: resource && source ? source.account_id : null,
    resource,
    permissions: subject.permissions,
    ...(note ? { note } : {}),
  };
}

const needsSource = (subject: { scope: string; store?: string | null }) =>
  subject.scope === 'lf_tag' || (subject.scope === 'table' && (LAKE_FORMATION_STORES as readonly string[]).includes(subject.store ?? ''));

/** Checks a request against the registry and the catalog; returns the normalised row values. */
async function validateRequest(db: Knex, body: RequestCreate): Promise<{ values: Record<string, unknown>; source: GrantSource | null }> {
  if (!(await db('principals').where({ arn: body.principal }).first('id'))) {
    throw invalidField('principal', `${body.principal} is not a registered principal (POST /v1/principals)`);
  }
  const only = (scope: string, fields: Array<keyof RequestCreate>) => {
    for (const field of fields) if (body[field] !== undefined) throw invalidField(field, `only with scope "${scope}"`);
  };
  let values: Record<string, unknown> = { store: null, database: null, table_name: null, columns: [], domain: null, lf_tag_expression: null };

  if (body.scope === 'table') {
    only('domain', ['domain']);
    only('lf_tag', ['lf_tag_expression']);
    for (const field of ['database', 'table'] as const) if (body[field] === undefined) throw invalidField(field, 'is required with scope "table"');
    const query = db('assets').where({ database: body.database, table_name: body.table });
    if (body.store) query.where({ store: body.store });
    const found: Array<{ id: string; store: string }> = await query.select('id', 'store').orderBy('store');
    const name = `${body.store ? `${body.store}:` : ''}${body.database}.${body.table}`;
    if (found.length === 0) throw invalidField('table', `${name} is not in the catalog (POST /v1/assets)`);
    if (found.length > 1) throw invalidField('store', `${body.database}.${body.table} is catalogued in several stores (${found.map((a) => a.store).join(', ')}): name one`);
    const asset = found[0]!;
    const known = (await db('asset_columns').where({ asset_id: asset.id }).orderBy('position').select('name')).map((c: { name: string }) => c.name);
    const columns = body.columns ?? [];
    columns.forEach((column, i) => {
      if (!known.includes(column)) throw invalidField(`columns[${i}]`, `${column} is not a column of ${body.database}.${body.table} (its columns: ${known.join(', ') || 'none catalogued'})`);
    });
    if (columns.length > 0 && (body.permissions.length !== 1 || body.permissions[0] !== 'SELECT')) {
      throw invalidField('permissions', 'a grant on columns is for SELECT only (Lake Formation grants columns for SELECT); ask for the whole table otherwise');
    }
    values = { ...values, store: asset.store, database: body.database, table_name: body.table, columns };
  } else if (body.scope === 'domain') {
    only('table', ['store', 'database', 'table', 'columns']);
    only('lf_tag', ['lf_tag_expression']);
    if (body.domain === undefined) throw invalidField('domain', 'is required with scope "domain"');
    if (!(await db('domains').where({ name: body.domain }).first('id'))) throw invalidField('domain', `no domain is named "${body.domain}"`);
    values = { ...values, domain: body.domain };
  } else {
    only('table', ['store', 'database', 'table', 'columns']);
    only('domain', ['domain']);
    if (body.lf_tag_expression === undefined) throw invalidField('lf_tag_expression', 'is required with scope "lf_tag"');
    const keys = body.lf_tag_expression.map((t) => t.tag_key);
    keys.forEach((key, i) => {
      if (keys.indexOf(key) !== i) throw invalidField(`lf_tag_expression[${i}].tag_key`, `repeats ${key}: list its values once`);
    });
    values = { ...values, lf_tag_expression: body.lf_tag_expression };
  }

  let source: GrantSource | null = null;
  if (needsSource({ scope: body.scope, store: values.store as string | null })) source = await resolveSource(db, body.source);
  else if (body.source !== undefined) throw invalidField('source', body.scope === 'domain' ? 'a domain grant is not applied to Lake Formation' : `store ${values.store} is not governed by Lake Formation`);
  return { values, source };
}

/** At approval the source must still be usable; what was a 400 at request time is now a conflict. */
async function sourceAtApproval(db: Knex, subject: RequestRow & { source: string | null }): Promise<GrantSource | null> {
  if (!needsSource(subject)) return null;
  try {
    return await resolveSource(db, subject.source ?? undefined);
  } catch (error) {
    if (error instanceof HttpProblem) throw conflict(`the grant cannot be applied: ${error.detail}`);
    throw error;
  }
}

/** The request, locked for the rest of the transaction. */
async function lockRequest(trx: Knex.Transaction, id: string) {
  if (!(await trx('access_requests').where({ id }).forUpdate().first('id'))) throw notFound('access request', id);
  return (await getRequest(trx, id))!;
}

function sendGrant(reply: FastifyReply, grant: GrantRow, status = 200) {
  return reply.code(status).header('etag', etagOf(grant)).send(grantView(grant));
}

/** Routes of the grant workflow (/v1/access/requests, /v1/access/grants, /v1/access/reconcile). */
export default async function grantRoutes(app: FastifyInstance): Promise<void> {
  const jobs: GrantJobContext = {
    db: app.db,
    log: app.log,
    awsEndpointUrl: app.config.awsEndpointUrl,
    awsMaxAttempts: app.config.awsMaxAttempts,
    ...(app.hasDecorator('jobs') ? { send: (queue: string, data: Record<string, string>, key: string) => app.jobs.send(queue, data, key) } : {}),
  };
  if (jobs.send) registerSender(app.db, jobs.send);

  const loadRequest = async (id: string) => {
    const found = await getRequest(app.db, id);
    if (!found) throw notFound('access request', id);
    return found;
  };

  app.post('/v1/access/requests', {
    config: { roles: REQUESTERS },
    schema: {
      tags: [TAG],
      summary: 'Request data access for a principal',
      description:
        'Pending until the owner or steward of the owning domain (or an admin) approves it; never by the requester. Scope table needs a catalogued table (and its columns); ' +
        'scope domain a domain; scope lf_tag an LF-tag expression. Lake Formation grants go through `source`, by default the only enabled source with the lakeformation service.',
      body: RequestCreate,
      response: { 201: AccessRequest, ...problemResponses(400, 401, 403, 413, 415) },
    },
    handler: async (request, reply) => {
      const body = request.body as RequestCreate;
      const { values, source } = await validateRequest(app.db, body);
      const created = await mutate(request, { action: 'create', entity: REQUESTS_ENTITY }, async (trx) => {
        const row = await insertRow<RequestRow>(trx, 'access_requests', {
          id: uuidv7(),
          requester: request.actor.name,
          requester_key_id: request.actor.keyId,
          requester_subject: request.actor.subject,
          principal: body.principal,
          scope: body.scope,
          ...values,
          permissions: body.permissions,
          purpose: body.purpose,
          duration_days: body.duration_days,
          status: 'pending',
        });
        // The audit row keeps the named source: access_requests has no column for it.
        const view = requestView({ ...row, source: body.source ?? null });
        return { result: view, entityId: row.id, newValue: { ...view, resolved_source: source?.name ?? null } };
      });
      return reply.code(201).header('location', `/v1/access/requests/${created.id}`).header('etag', etagOf(created)).send(created);
    },
  });

  app.get('/v1/access/requests', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: [TAG],
      summary: 'Access requests, oldest first',
      querystring: Type.Object({ ...PageQuery, ...RequestFilters.properties }, { additionalProperties: false }),
      response: { 200: Page(AccessRequest), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const { status, principal, ...page } = request.query as { status?: string; principal?: string; limit?: number; cursor?: string };
      const query = requestQuery(app.db);
      if (status) query.where('r.status', status);
      if (principal) query.where('r.principal', principal);
      const result = await paginate<RequestRow & Record<string, unknown>>(query, page, [{ sql: 'r.id', field: 'id' }]);
      return { items: result.items.map((row) => requestView(row)), next_cursor: result.next_cursor };
    },
  });

  app.get('/v1/access/requests/:id', {
    config: { roles: CATALOG_READERS },
    schema: { tags: [TAG], summary: 'One access request', params: IdParams, response: { 200: AccessRequest, ...problemResponses(400, 401, 403, 404) } },
    handler: async (request, reply) => {
      const found = await loadRequest((request.params as IdParams).id);
      return reply.header('etag', etagOf(found)).send(requestView(found));
    },
  });

  app.post('/v1/access/requests/:id/approve', {
    config: { roles: REQUESTERS },
    schema: {
      tags: [TAG],
      summary: 'Approve a pending request: the grant is created and applied to Lake Formation in the background',
      description:
        'By the owner or steward of the owning domain (compared with the subject of the key or session) or an admin; never the requester, compared by subject (403). ' +
        'The grant starts now, ends after duration_days, and is pending_apply until the apply job has granted it (then active). If-Match is honoured when sent.',
      params: IdParams,
      body: CommentBody,
      response: { 200: AccessRequest, ...problemResponses(400, 401, 403, 404, 409, 412) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const { comment } = request.body as { comment?: string };
      const approved = await mutate(request, { action: 'approve', entity: REQUESTS_ENTITY }, async (trx) => {
        const current = await lockRequest(trx, id);
        checkIfMatch(request, current, false);
        if (current.status !== 'pending') throw conflict(`access request ${id} is ${current.status}, not pending`);
        await assertCanDecide(request, trx, current, 'approve');
        if (current.scope === 'table' && !(await trx('assets').where({ store: current.store, database: current.database, table_name: current.table_name }).first('id'))) {
          throw conflict(`${current.store}:${current.database}.${current.table_name} is no longer in the catalog`);
        }
        const source = await sourceAtApproval(trx, current);
        const updated = await changeRequest(trx, current, { status: 'approved', decided_by: request.actor.name, decider_subject: request.actor.subject, decided_at: new Date().toISOString(), decision_comment: comment ?? null });
        const grant = await insertRow<GrantRow>(trx, 'access_grants', {
          id: uuidv7(),
          request_id: id,
          principal: current.principal,
          scope: current.scope,
          store: current.store,
          database: current.database,
          table_name: current.table_name,
          columns: current.columns,
          domain: current.domain,
          lf_tag_expression: current.lf_tag_expression,
          permissions: current.permissions,
          purpose: current.purpose,
          starts_at: trx.fn.now(),
          expires_at: trx.raw('now() + make_interval(days => ?)', [current.duration_days]),
          status: 'pending_apply',
          lake_formation: plannedRecord(current, source),
        });
        await recordAudit(trx, auditContext(request), { action: 'create', entity: GRANTS_ENTITY, entityId: grant.id, newValue: grantView(grant) });
        await notifyGrantsChanged(trx);
        const view = requestView({ ...updated, grant_id: grant.id, source: current.source });
        return { result: view, entityId: id, oldValue: requestView(current), newValue: view };
      });
      await enqueueApply(jobs, approved.grant_id!);
      return reply.header('etag', etagOf(approved)).header('location', `/v1/access/grants/${approved.grant_id}`).send(approved);
    },
  });

  app.post('/v1/access/requests/:id/reject', {
    config: { roles: REQUESTERS },
    schema: {
      tags: [TAG],
      summary: 'Reject a pending request, saying why',
      description: 'Same deciders as approval. If-Match is honoured when sent.',
      params: IdParams,
      body: RequiredCommentBody,
      response: { 200: AccessRequest, ...problemResponses(400, 401, 403, 404, 409, 412) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const { comment } = request.body as { comment: string };
      const rejected = await mutate(request, { action: 'reject', entity: REQUESTS_ENTITY }, async (trx) => {
        const current = await lockRequest(trx, id);
        checkIfMatch(request, current, false);
        if (current.status !== 'pending') throw conflict(`access request ${id} is ${current.status}, not pending`);
        await assertCanDecide(request, trx, current, 'reject');
        const updated = await changeRequest(trx, current, { status: 'rejected', decided_by: request.actor.name, decider_subject: request.actor.subject, decided_at: new Date().toISOString(), decision_comment: comment });
        const view = requestView({ ...updated, grant_id: null, source: current.source });
        return { result: view, entityId: id, oldValue: requestView(current), newValue: view };
      });
      return reply.header('etag', etagOf(rejected)).send(rejected);
    },
  });

  app.post('/v1/access/requests/:id/withdraw', {
    config: { roles: REQUESTERS },
    schema: {
      tags: [TAG],
      summary: 'Withdraw a request (the requester or an admin)',
      description: 'A pending request is withdrawn; an approved one is withdrawn and its grant revoked from Lake Formation in the background (ending revoked).',
      params: IdParams,
      body: CommentBody,
      response: { 200: AccessRequest, ...problemResponses(400, 401, 403, 404, 409, 412) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const { comment } = request.body as { comment?: string };
      let revokeGrantId: string | undefined;
      const withdrawn = await mutate(request, { action: 'withdraw', entity: REQUESTS_ENTITY }, async (trx) => {
        const current = await lockRequest(trx, id);
        checkIfMatch(request, current, false);
        const isRequester = sameSubject(request.actor, current.requester_subject);
        if (!isRequester && request.actor.role !== 'admin') throw forbidden(`only the requester (${current.requester}) or an admin may withdraw this request`);
        if (current.status === 'approved') {
          const grant = current.grant_id ? await getGrant(trx, current.grant_id, true) : undefined;
          if (!grant || !LIVE_GRANT_STATUSES.includes(grant.status)) throw conflict(`access request ${id} was approved and its grant is ${grant?.status ?? 'gone'}: nothing to withdraw`);
          await startRevocation(trx, request, grant, 'withdrawn', comment ?? null);
          revokeGrantId = grant.id;
        } else if (current.status !== 'pending') {
          throw conflict(`access request ${id} is ${current.status}`);
        }
        const updated = await changeRequest(trx, current, { status: 'withdrawn', decision_comment: comment ?? current.decision_comment });
        const view = requestView({ ...updated, grant_id: current.grant_id, source: current.source });
        return { result: view, entityId: id, oldValue: requestView(current), newValue: view };
      });
      if (revokeGrantId) await enqueueRevoke(jobs, revokeGrantId);
      return reply.header('etag', etagOf(withdrawn)).send(withdrawn);
    },
  });

  app.get('/v1/access/grants', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: [TAG],
      summary: 'Access grants, oldest first',
      querystring: Type.Object({ ...PageQuery, ...GrantFilters.properties }, { additionalProperties: false }),
      response: { 200: Page(AccessGrant), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const { status, principal, database, table, ...page } = request.query as { status?: string; principal?: string; database?: string; table?: string; limit?: number; cursor?: string };
      const query = app.db('access_grants').select('*');
      if (status) query.where({ status });
      if (principal) query.where({ principal });
      if (database) query.where({ database });
      if (table) query.where({ table_name: table });
      const result = await paginate<GrantRow & Record<string, unknown>>(query, page);
      return { items: result.items.map(grantView), next_cursor: result.next_cursor };
    },
  });

  app.get('/v1/access/grants/:id', {
    config: { roles: CATALOG_READERS },
    schema: { tags: [TAG], summary: 'One access grant, with what was applied to Lake Formation', params: IdParams, response: { 200: AccessGrant, ...problemResponses(400, 401, 403, 404) } },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const grant = await getGrant(app.db, id);
      if (!grant) throw notFound('access grant', id);
      return sendGrant(reply, grant);
    },
  });

  app.post('/v1/access/grants/:id/revoke', {
    config: { roles: REQUESTERS },
    schema: {
      tags: [TAG],
      summary: 'Revoke a grant: pending_revoke now, revoked once Lake Formation no longer has it',
      description: 'By an admin, a compliance officer, or the owner or steward of the owning domain. 202: the revocation job removes the permission (RevokePermissions). If-Match is honoured when sent.',
      params: IdParams,
      body: CommentBody,
      response: { 202: AccessGrant, ...problemResponses(400, 401, 403, 404, 409, 412) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const { comment } = request.body as { comment?: string };
      const revoked = await app.db.transaction(async (trx) => {
        const grant = await getGrant(trx, id, true);
        if (!grant) throw notFound('access grant', id);
        checkIfMatch(request, grant, false);
        if (!['admin', 'compliance_officer'].includes(request.actor.role)) {
          const domain = await owningDomain(trx, grant);
          if (!domain || !ownsOrStewards(request.actor, domain)) {
            throw forbidden(
              domain
                ? `only an admin, a compliance officer, or the owner (${domain.owner}) or steward (${domain.steward}) of domain ${domain.name} may revoke this grant`
                : `only an admin or a compliance officer may revoke a grant of scope ${grant.scope}`,
            );
          }
        }
        if (!LIVE_GRANT_STATUSES.includes(grant.status)) throw conflict(`access grant ${id} is ${grant.status}: nothing to revoke`);
        return startRevocation(trx, request, grant, 'revoked', comment ?? null);
      });
      await enqueueRevoke(jobs, id);
      // A pending_revoke grant no longer approves anything: the catalog rules see that before the answer.
      await app.jobs?.catalog.evaluate();
      return sendGrant(reply, revoked, 202);
    },
  });

  app.post('/v1/access/grants/:id/retry', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: [TAG],
      summary: 'Queue the apply (pending_apply) or revoke (pending_revoke) job of a grant again',
      description: 'For grants whose job ran out of retries (see last_error). 409 for grants in any other status.',
      params: IdParams,
      body: EmptyBody,
      response: { 202: AccessGrant, ...problemResponses(400, 401, 403, 404, 409) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const grant = await app.db.transaction(async (trx) => {
        const current = await getGrant(trx, id, true);
        if (!current) throw notFound('access grant', id);
        if (current.status !== 'pending_apply' && current.status !== 'pending_revoke') throw conflict(`access grant ${id} is ${current.status}: there is nothing to retry`);
        await auditGrantAction(trx, auditContext(request), current, current.status === 'pending_apply' ? 'retry_apply' : 'retry_revoke');
        return current;
      });
      await (grant.status === 'pending_apply' ? enqueueApply : enqueueRevoke)(jobs, id);
      return sendGrant(reply, grant, 202);
    },
  });

  app.post('/v1/access/reconcile', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: [TAG],
      summary: 'Compare live Lake Formation permissions with the active grants',
      description:
        'Reads ListPermissions (all pages) and GetDataLakeSettings of the source now. `unapproved`: permissions no active grant accounts for (data lake administrators ignored; ' +
        'grants being applied or revoked are in flight, not unapproved). `missing`: active grants whose permissions Lake Formation lacks. Resources are compared exactly.',
      body: ReconcileBody,
      response: { 200: Reconciliation, ...problemResponses(400, 401, 403, 503) },
    },
    handler: async (request) => {
      const { source: name } = request.body as { source?: string };
      const source = await resolveSource(app.db, name);
      try {
        return await reconcile(app.db, source, { endpoint: app.config.awsEndpointUrl, maxAttempts: app.config.awsMaxAttempts });
      } catch (error) {
        if (error instanceof LakeFormationUnreadable) throw new HttpProblem(503, 'lake-formation-unavailable', `Lake Formation of source ${source.name} could not be read: ${error.message}`);
        throw error;
      }
    },
  });
}

/** pending_revoke, with who asked and why; the caller enqueues the revocation after commit. */
async function startRevocation(trx: Knex.Transaction, request: FastifyRequest, grant: GrantRow, reason: 'revoked' | 'withdrawn', comment: string | null): Promise<GrantRow> {
  const revocation = { reason, requested_by: request.actor.name, requested_at: new Date().toISOString(), comment };
  const lakeFormation = grant.lake_formation ?? { source: null, catalog_id: null, resource: null, permissions: grant.permissions };
  return changeGrant(trx, grant, { status: 'pending_revoke', revoked_by: request.actor.name, lake_formation: { ...lakeFormation, revocation } }, { context: auditContext(request), action: reason === 'withdrawn' ? 'withdraw' : 'revoke_requested' });
}
