import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { mutate } from '../http/crud.js';
import { conflict, notFound, problemResponses } from '../http/problem.js';
import { IdParams, IsoDateTime, Page, PageQuery, StringEnum } from '../http/schemas.js';
import { paginate, type PageParams } from '../db/pagination.js';
import { ADMIN_ONLY, OVERSIGHT } from './roles.js';
import { forgetRoleMappings, PERSON_ROLES, type PersonRole } from './sessions.js';

const PersonRoleSchema = StringEnum(PERSON_ROLES, { description: 'pipeline is for API keys only' });

const RoleMappingView = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    group: Type.String(),
    role: PersonRoleSchema,
    version: Type.Integer(),
    created_by: Type.String(),
    created_at: IsoDateTime,
    updated_at: IsoDateTime,
  },
  { title: 'RoleMapping' },
);

/** Which IdP groups (the CUSTOS_OIDC_ROLES_CLAIM claim) give which Custos role; admins manage them. */
export default async function roleMappingRoutes(app: FastifyInstance) {
  app.get('/v1/role-mappings', {
    config: { roles: OVERSIGHT },
    schema: {
      tags: ['access control'],
      summary: 'List the IdP group → role mappings',
      querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }),
      response: { 200: Page(RoleMappingView), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => paginate(app.db('role_mappings').select('*'), request.query as PageParams),
  });

  app.post('/v1/role-mappings', {
    config: { roles: ADMIN_ONLY },
    schema: {
      tags: ['access control'],
      summary: 'Map an IdP group to a role (people in it sign in with that role)',
      body: Type.Object(
        { group: Type.String({ minLength: 1, maxLength: 200, pattern: '^\\S(.*\\S)?$' }), role: PersonRoleSchema },
        { additionalProperties: false },
      ),
      response: { 201: RoleMappingView, ...problemResponses(400, 401, 403, 409) },
    },
    handler: async (request, reply) => {
      const { group, role } = request.body as { group: string; role: PersonRole };
      const created = await mutate(request, { action: 'create', entity: 'role-mappings' }, async (trx) => {
        if (await trx('role_mappings').where({ group }).first('id')) throw conflict(`group ${group} is already mapped; delete its mapping first`);
        const [mapping] = await trx('role_mappings').insert({ id: uuidv7(), group, role, created_by: request.actor.name }).returning('*');
        return { result: mapping, entityId: mapping.id, newValue: mapping };
      });
      forgetRoleMappings();
      return reply.code(201).header('location', `/v1/role-mappings/${created.id}`).send(created);
    },
  });

  app.delete('/v1/role-mappings/:id', {
    config: { roles: ADMIN_ONLY },
    schema: {
      tags: ['access control'],
      summary: 'Remove a mapping (sessions that held the role through it lose it within 5 s)',
      params: IdParams,
      response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      await mutate(request, { action: 'delete', entity: 'role-mappings' }, async (trx) => {
        const [removed] = await trx('role_mappings').where({ id }).delete().returning('*');
        if (!removed) throw notFound('role mapping', id);
        return { result: removed, entityId: id, oldValue: removed };
      });
      forgetRoleMappings();
      return reply.code(204).send();
    },
  });
}
