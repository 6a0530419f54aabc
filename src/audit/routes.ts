import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { OVERSIGHT } from '../auth/roles.js';
import { notFound, problemResponses } from '../http/problem.js';
import { Instant, IsoDateTime, Page, PageQuery } from '../http/schemas.js';
import { verifyAuditChain } from './chain.js';
import { getAudit, listAudit, type AuditFilters } from './repository.js';

const AuditEntry = Type.Object(
  {
    id: Type.Integer(),
    at: IsoDateTime,
    actor: Type.String(),
    actor_key_id: Type.Union([Type.String(), Type.Null()]),
    actor_subject: Type.Union([Type.String({ description: 'the identity behind the actor (its API key subject or SSO subject)' }), Type.Null()]),
    role: Type.String(),
    actor_email: Type.Union([Type.String(), Type.Null()]),
    action: Type.String({ examples: ['update'] }),
    entity: Type.String(),
    entity_id: Type.String(),
    old_value: Type.Unknown(),
    new_value: Type.Unknown(),
    client_ip: Type.Union([Type.String(), Type.Null()]),
    request_id: Type.Union([Type.String(), Type.Null()]),
    pending_change_id: Type.Union([Type.String({ description: 'the pending change (four-eyes) this entry applies or decides' }), Type.Null()]),
    break_glass_reason: Type.Union([Type.String({ description: 'set when an admin applied a protection-lowering change alone (break-glass)' }), Type.Null()]),
    prev_hash: Type.String({ description: 'hash of the previous row: the audit log is a hash chain' }),
    hash: Type.String({ description: 'SHA-256 over prev_hash and every field of this row' }),
  },
  { title: 'AuditEntry' },
);

/** Read-only by design: there is no route that changes the audit log, and the database refuses it too. */
export default async function auditRoutes(app: FastifyInstance) {
  app.get('/v1/audit-log', {
    config: { roles: OVERSIGHT },
    schema: {
      tags: ['audit'],
      summary: 'Audit log, newest first',
      querystring: Type.Object(
        {
          ...PageQuery,
          entity: Type.Optional(Type.String({ maxLength: 100 })),
          entity_id: Type.Optional(Type.String({ maxLength: 200 })),
          actor: Type.Optional(Type.String({ maxLength: 200 })),
          actor_subject: Type.Optional(Type.String({ maxLength: 200 })),
          action: Type.Optional(Type.String({ maxLength: 100 })),
          request_id: Type.Optional(Type.String({ maxLength: 200 })),
          from: Type.Optional(Instant('inclusive; a date-time or a date')),
          to: Type.Optional(Instant('exclusive; a date-time or a date')),
        },
        { additionalProperties: false },
      ),
      response: { 200: Page(AuditEntry), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => listAudit(app.db, request.query as AuditFilters),
  });

  app.post('/v1/audit-log/verify', {
    config: { roles: OVERSIGHT },
    schema: {
      tags: ['audit'],
      summary: 'Re-check the audit hash chain and report the first break',
      description:
        'Every row against its fields and the previous hash. A chain rebuilt after an edit verifies here: compare with the signed checkpoints kept outside the database (POST /v1/integrity/verify).',
      response: {
        200: Type.Object({
          ok: Type.Boolean(),
          rows: Type.Integer(),
          head: Type.String(),
          last_id: Type.Integer(),
          first_break: Type.Optional(Type.Object({ id: Type.Integer(), problem: Type.String() })),
        }),
        ...problemResponses(401, 403),
      },
    },
    handler: async () => verifyAuditChain(app.db),
  });

  app.get('/v1/audit-log/:id', {
    config: { roles: OVERSIGHT },
    schema: {
      tags: ['audit'],
      summary: 'One audit entry',
      params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }, { additionalProperties: false }),
      response: { 200: AuditEntry, ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request) => {
      const { id } = request.params as { id: number };
      const entry = await getAudit(app.db, id);
      if (!entry) throw notFound('audit entry', String(id));
      return entry;
    },
  });
}
