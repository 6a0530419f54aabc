import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { recordAudit } from '../audit/repository.js';
import { guardedChange, PendingChange, sendOutcome, type ChangeTarget } from '../changes/index.js';
import { mutate } from '../http/crud.js';
import { conflict, notFound, problemResponses } from '../http/problem.js';
import { IdParams, IsoDateTime, Page, PageQuery, StringEnum, type Role } from '../http/schemas.js';
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

/**
 * Which IdP groups (the CUSTOS_OIDC_ROLES_CLAIM claim) give which Custos role; admins manage them.
 *
 * Four eyes: a mapping gives its role to everyone the IdP puts in the group, people the admin does
 * not choose one by one. Every new mapping is a pending change a second admin approves (another
 * subject), unless an admin breaks glass: admin and compliance_officer decide four-eyes changes
 * (and admins break glass), steward writes the catalog, and auditor reads everything, including the
 * audit log and where the personal data is: each is access a second person must agree to. Removing a
 * mapping takes a role away from people and lowers no one's protection: it applies at once.
 */
export default async function roleMappingRoutes(app: FastifyInstance) {
  const mapGroup = app.changeKinds.register({
    kind: 'role-mappings.create',
    entity: 'role-mappings',
    apply: async (trx, target: ChangeTarget, context) => {
      const { group, role, proposed_by } = target.payload as { group: string; role: PersonRole; proposed_by: string };
      // One mapping per group: serialised, so two approvals of mappings of one group cannot both apply.
      await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`custos:role-mappings:${group}`]);
      if (await trx('role_mappings').where({ group }).first('id')) throw conflict(`group ${group} is already mapped; delete its mapping first`);
      const [mapping] = await trx('role_mappings').insert({ id: uuidv7(), group, role, created_by: proposed_by }).returning('*');
      await recordAudit(trx, context, { action: 'create', entity: 'role-mappings', entityId: mapping.id, newValue: mapping });
      return { result: mapping, afterCommit: async () => forgetRoleMappings() };
    },
  });

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
      summary: 'Map an IdP group to a role (people in it sign in with that role): a pending change a second admin approves',
      description:
        'Gives the role to everyone in the group, so it is a pending change (202, `/v1/pending-changes`) that another admin (another subject) approves; ' +
        'an admin may apply it alone with `x-break-glass-reason` (201, flagged in the audit log and the CC8.1 evidence). Removing a mapping is immediate.',
      body: Type.Object(
        { group: Type.String({ minLength: 1, maxLength: 200, pattern: '^\\S(.*\\S)?$' }), role: PersonRoleSchema },
        { additionalProperties: false, examples: [{ group: 'risk-analysts', role: 'auditor' }] },
      ),
      response: { 201: RoleMappingView, 202: PendingChange, ...problemResponses(400, 401, 403, 409) },
    },
    handler: async (request, reply) => {
      const { group, role } = request.body as { group: string; role: PersonRole };
      const outcome = await guardedChange(request, mapGroup, async (trx) => {
        // Refused now rather than after an approval it could never take.
        if (await trx('role_mappings').where({ group }).first('id')) throw conflict(`group ${group} is already mapped; delete its mapping first`);
        return {
          entityId: 'new',
          baseVersion: null,
          payload: { group, role, proposed_by: request.actor.name },
          summary: `map IdP group ${group} to role ${role}`,
          reasons: [`everyone the identity provider puts in group ${group} signs in as ${role}`],
          approvers: { roles: ['admin' as Role], subjects: [] },
        };
      });
      return sendOutcome(reply, outcome, (created) => {
        const mapping = created as { id: string };
        return reply.code(201).header('location', `/v1/role-mappings/${mapping.id}`).send(mapping);
      });
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
