import { Type, type TObject, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { ACCESS_DATA_CHANNEL } from '../access/runtime.js';
import { recordAudit } from '../audit/repository.js';
import { notifyOnCommit } from '../db/notifications.js';
import { auditContext } from '../auth/plugin.js';
import type { CrudRepository, Entity } from '../db/table-repository.js';
import { HttpProblem, notFound, problemResponses } from './problem.js';
import { IdParams, Page, PageQuery, type Role } from './schemas.js';
import { guardedChange, PendingChange, sendOutcome, stale, type Approvers, type ChangeKind } from '../changes/index.js';
import { requestCatalogEvaluation } from '../evaluation/catalog-requests.js';

export interface ResourceDefinition<E extends Entity, C, P> {
  /** Plural name: the URL segment under /v1 and the audit log's `entity`. */
  name: string;
  /** For messages: "asset 0193… does not exist". */
  singular: string;
  tag: string;
  schemas: { entity: TSchema; create: TSchema; patch: TObject; filters: Record<string, TSchema> };
  roles: { read: readonly Role[]; write: readonly Role[] };
  repository: CrudRepository<E, C, P>;
  /** What the audit log records of an entity, when it holds something that must not be kept there (a secret). */
  auditView?: (entity: E) => unknown;
  /**
   * Changes of this resource that lower protection, and who approves them: such a create or update
   * becomes a pending change (202) until a second person approves it (src/changes/).
   */
  guard?: {
    create?(trx: Knex.Transaction, input: C): Promise<Guarded>;
    update?(trx: Knex.Transaction, current: E, patch: P): Promise<Guarded>;
    remove?(trx: Knex.Transaction, current: E): Promise<Guarded>;
  };
}

/** Why a change lowers protection (empty: it does not) and who may approve it. */
export interface Guarded {
  reasons: string[];
  approvers: Approvers;
}

export const etagOf = (entity: { version: number }) => `"${entity.version}"`;

/**
 * Optimistic concurrency: updates must name the version they were made from (If-Match), so two
 * stewards cannot silently overwrite each other. Stale → 412; missing → 428 on updates.
 */
export function checkIfMatch(request: FastifyRequest, entity: { version: number }, required: boolean): void {
  const header = request.headers['if-match'];
  if (header === undefined) {
    if (required) {
      throw new HttpProblem(428, 'precondition-required', 'send If-Match with the ETag of the version you are changing (from GET)');
    }
    return;
  }
  const tags = header.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  if (!tags.includes('*') && !tags.includes(etagOf(entity))) {
    throw new HttpProblem(412, 'precondition-failed', `the entity changed since you read it: current ETag is ${etagOf(entity)}`);
  }
}

/** Runs a change and writes its audit row in one transaction. */
export async function mutate<T>(
  request: FastifyRequest,
  change: { action: string; entity: string },
  work: (trx: Knex.Transaction) => Promise<{ result: T; entityId: string; oldValue?: unknown; newValue?: unknown }>,
): Promise<T> {
  let catalogChanged = false;
  const result = await request.server.db.transaction(async (trx) => {
    const { result, entityId, oldValue, newValue } = await work(trx);
    await recordAudit(trx, auditContext(request), { ...change, entityId, oldValue, newValue });
    // Access decisions preload the catalog and principals: every instance reloads after commit.
    await notifyOnCommit(trx, ACCESS_DATA_CHANNEL, change.entity);
    // The catalog rules are evaluated again, durably requested with the change.
    catalogChanged = await requestCatalogEvaluation(trx, change.entity);
    return result;
  });
  // This instance reloads before answering, so the caller's next decision sees the change at once
  // (a registered principal is not `unknown_principal` for the ~50 ms the notification takes).
  await request.server.policy?.reloadAccessData();
  // And evaluates the change before answering, so the next read of findings and controls shows it.
  if (catalogChanged) await request.server.jobs?.catalog.evaluate();
  return result;
}

export async function loadForUpdate<E extends Entity>(
  trx: Knex.Transaction,
  definition: Pick<ResourceDefinition<E, unknown, unknown>, 'repository' | 'singular'>,
  id: string,
): Promise<E> {
  const current = await definition.repository.get(trx, id, true);
  if (!current) throw notFound(definition.singular, id);
  return current;
}

function sendEntity(reply: FastifyReply, entity: Entity, status = 200) {
  return reply.code(status).header('etag', etagOf(entity)).send(entity);
}

/** list, get, create, patch and delete for one resource, with the same behaviour everywhere. */
export function registerCrudRoutes<E extends Entity, C, P>(app: FastifyInstance, definition: ResourceDefinition<E, C, P>) {
  const { name, singular, tag, schemas, roles, repository } = definition;
  const audited = (entity: E) => (definition.auditView ? definition.auditView(entity) : entity);
  const base = `/v1/${name}`;
  // What a guarded create or update does, now or once approved (src/changes/).
  const createKind: ChangeKind | undefined = definition.guard?.create
    ? app.changeKinds.register({
        kind: `${name}.create`,
        entity: name,
        apply: async (trx, target, context) => {
          const entity = await repository.create(trx, target.payload as C);
          await recordAudit(trx, context, { action: 'create', entity: name, entityId: entity.id, newValue: audited(entity) });
          return { result: entity };
        },
      })
    : undefined;
  /** An approved change applies to the version it was proposed from, or not at all (409 stale). */
  const currentAsProposed = async (trx: Knex.Transaction, target: { entityId: string; baseVersion: number | null }): Promise<E> => {
    const current = await loadForUpdate(trx, definition as never, target.entityId);
    if (target.baseVersion !== null && current.version !== target.baseVersion) throw stale(singular, target.entityId, target.baseVersion, current.version);
    return current as E;
  };
  const updateKind: ChangeKind | undefined = definition.guard?.update
    ? app.changeKinds.register({
        kind: `${name}.update`,
        entity: name,
        apply: async (trx, target, context) => {
          const current = await currentAsProposed(trx, target);
          const entity = await repository.update(trx, current, target.payload as P);
          await recordAudit(trx, context, { action: 'update', entity: name, entityId: target.entityId, oldValue: audited(current), newValue: audited(entity) });
          return { result: entity };
        },
      })
    : undefined;
  const removeKind: ChangeKind | undefined = definition.guard?.remove
    ? app.changeKinds.register({
        kind: `${name}.delete`,
        entity: name,
        apply: async (trx, target, context) => {
          const current = await currentAsProposed(trx, target);
          await repository.remove(trx, current as E);
          await recordAudit(trx, context, { action: 'delete', entity: name, entityId: target.entityId, oldValue: audited(current) });
          return { result: undefined };
        },
      })
    : undefined;
  app.get(base, {
    config: { roles: roles.read },
    schema: {
      tags: [tag],
      summary: `List ${name}`,
      querystring: Type.Object(
        { ...PageQuery, ...Object.fromEntries(Object.entries(schemas.filters).map(([key, schema]) => [key, Type.Optional(schema)])) },
        { additionalProperties: false },
      ),
      response: { 200: Page(schemas.entity), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => repository.list(app.db, request.query as Record<string, unknown>),
  });

  app.get(`${base}/:id`, {
    config: { roles: roles.read },
    schema: {
      tags: [tag],
      summary: `Get one ${singular}`,
      params: IdParams,
      response: { 200: schemas.entity, 304: Type.Null(), ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const entity = await repository.get(app.db, id);
      if (!entity) throw notFound(singular, id);
      if (request.headers['if-none-match'] === etagOf(entity)) return reply.code(304).header('etag', etagOf(entity)).send();
      return sendEntity(reply, entity);
    },
  });

  app.post(base, {
    config: { roles: roles.write },
    schema: {
      tags: [tag],
      summary: `Create ${/^[aeiou]/i.test(singular) ? 'an' : 'a'} ${singular}`,
      body: schemas.create,
      response: { 201: schemas.entity, ...(definition.guard?.create ? { 202: PendingChange } : {}), ...problemResponses(400, 401, 403, 409, 413, 415) },
    },
    handler: async (request, reply) => {
      const sendCreated = (created: E) => sendEntity(reply.header('location', `${base}/${created.id}`), created, 201);
      if (createKind && definition.guard?.create) {
        const guard = definition.guard.create;
        const outcome = await guardedChange(request, createKind, async (trx) => ({
          entityId: 'new',
          baseVersion: null,
          payload: request.body,
          summary: `create a ${singular}`,
          ...(await guard(trx, request.body as C)),
        }));
        return sendOutcome(reply, outcome, (created) => sendCreated(created as E));
      }
      const created = await mutate(request, { action: 'create', entity: name }, async (trx) => {
        const entity = await repository.create(trx, request.body as C);
        return { result: entity, entityId: entity.id, newValue: audited(entity) };
      });
      return sendCreated(created);
    },
  });

  app.patch(`${base}/:id`, {
    config: { roles: roles.write },
    schema: {
      tags: [tag],
      summary: `Change ${/^[aeiou]/i.test(singular) ? 'an' : 'a'} ${singular} (send If-Match)`,
      description: 'Fields present in the body replace the stored ones; `null` clears an optional field.',
      params: IdParams,
      headers: Type.Object({ 'if-match': Type.Optional(Type.String()) }),
      body: schemas.patch,
      response: { 200: schemas.entity, ...(definition.guard?.update ? { 202: PendingChange } : {}), ...problemResponses(400, 401, 403, 404, 409, 412, 413, 415, 428) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      if (updateKind && definition.guard?.update) {
        const guard = definition.guard.update;
        const outcome = await guardedChange(request, updateKind, async (trx) => {
          const current = await loadForUpdate(trx, definition as never, id);
          checkIfMatch(request, current, true);
          return { entityId: id, baseVersion: current.version, payload: request.body, summary: `change ${singular} ${id}`, ...(await guard(trx, current as E, request.body as P)) };
        });
        return sendOutcome(reply, outcome, (updated) => sendEntity(reply, updated as E));
      }
      const updated = await mutate(request, { action: 'update', entity: name }, async (trx) => {
        const current = await loadForUpdate(trx, definition as never, id);
        checkIfMatch(request, current, true);
        const entity = await repository.update(trx, current as E, request.body as P);
        return { result: entity, entityId: id, oldValue: audited(current as E), newValue: audited(entity) };
      });
      return sendEntity(reply, updated);
    },
  });

  app.delete(`${base}/:id`, {
    config: { roles: roles.write },
    schema: {
      tags: [tag],
      summary: `Delete ${/^[aeiou]/i.test(singular) ? 'an' : 'a'} ${singular}`,
      description: 'Refused with 409 while other entries refer to it. If-Match is honoured when sent.',
      params: IdParams,
      response: { 204: Type.Null(), ...(definition.guard?.remove ? { 202: PendingChange } : {}), ...problemResponses(400, 401, 403, 404, 409, 412) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      if (removeKind && definition.guard?.remove) {
        const guard = definition.guard.remove;
        const outcome = await guardedChange(request, removeKind, async (trx) => {
          const current = await loadForUpdate(trx, definition as never, id);
          checkIfMatch(request, current, false);
          return { entityId: id, baseVersion: current.version, payload: null, summary: `delete ${singular} ${id}`, ...(await guard(trx, current as E)) };
        });
        return sendOutcome(reply, outcome, () => reply.code(204).send());
      }
      await mutate(request, { action: 'delete', entity: name }, async (trx) => {
        const current = await loadForUpdate(trx, definition as never, id);
        checkIfMatch(request, current, false);
        await repository.remove(trx, current as E);
        return { result: undefined, entityId: id, oldValue: audited(current as E) };
      });
      return reply.code(204).send();
    },
  });
}

/** The PATCH body: every create field optional, at least one present. */
export function patchOf(create: TObject): TObject {
  return Type.Partial(create, { additionalProperties: false, minProperties: 1 });
}
