import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { mutate } from '../http/crud.js';
import { conflict, invalidField, notFound, problemResponses } from '../http/problem.js';
import { IdParams, Instant, Page, PageQuery, RoleSchema, type Role } from '../http/schemas.js';
import { forgetKey } from './plugin.js';
import { ADMIN_ONLY, OVERSIGHT } from './roles.js';
import { countActiveAdmins, createApiKey, getApiKey, listApiKeys, revokeApiKey, type ApiKeyFilters } from './repository.js';

/** A subject: printable text (an SSO subject, an e-mail, a service name). */
const Subject = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });
const RESERVED_SUBJECT = /^(key|system):/;

const ApiKeyView = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    role: RoleSchema,
    subject: Type.String({ description: 'The person or machine identity the key belongs to; four-eyes checks compare subjects' }),
    key_prefix: Type.String({ description: 'First characters of the key, to recognise it' }),
    created_at: Type.String({ format: 'date-time' }),
    created_by: Type.String(),
    revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    revoked_by: Type.Union([Type.String(), Type.Null()]),
    expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'after this instant the key is refused (401 saying so); null: no expiry' }),
    last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'last authenticated request, recorded within 30 s' }),
    replaced_by: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'the key that replaced it when it was rotated' }),
  },
  { title: 'ApiKey' },
);

const CreatedKey = Type.Intersect([ApiKeyView, Type.Object({ key: Type.String({ description: 'the key itself: shown in this response only' }) })], {
  title: 'CreatedApiKey',
  examples: [
    {
      id: '0190a8d2-7c1e-7000-8000-000000000001', name: 'alice', role: 'steward', subject: 'alice@bank.example', key_prefix: 'cus_AbCd', created_at: '2026-01-01T00:00:00.000Z',
      created_by: 'bootstrap-admin', revoked_at: null, revoked_by: null, expires_at: '2027-01-01T00:00:00.000Z', last_used_at: null, replaced_by: null, key: 'cus_AbCd…',
    },
  ],
});

export default async function apiKeyRoutes(app: FastifyInstance) {
  app.post('/v1/api-keys', {
    config: { roles: ADMIN_ONLY },
    schema: {
      tags: ['access control'],
      summary: 'Create an API key (the key is shown in this response only)',
      description:
        '`subject` names the person or machine the key belongs to (e.g. their SSO subject or e-mail): keys with one subject are one identity for four-eyes checks. ' +
        'Default `key:<id>`, so unrelated keys are distinct. `key:` and `system:` are reserved prefixes.',
      body: Type.Object(
        {
          role: RoleSchema,
          name: Type.String({ minLength: 1, maxLength: 100 }),
          subject: Type.Optional(Subject),
          expires_at: Type.Optional(Instant('the key is refused after this instant (a date-time or a date); default: never')),
        },
        { additionalProperties: false, examples: [{ role: 'steward', name: 'alice', subject: 'alice@bank.example', expires_at: '2027-01-01' }] },
      ),
      response: {
        201: CreatedKey,
        ...problemResponses(400, 401, 403, 409),
      },
    },
    handler: async (request, reply) => {
      const { role, name, subject, expires_at } = request.body as { role: Role; name: string; subject?: string; expires_at?: string };
      if (subject !== undefined && RESERVED_SUBJECT.test(subject)) {
        throw invalidField('subject', 'the prefixes key: and system: are reserved (key:<id> is the default subject of a key)');
      }
      if (expires_at !== undefined && Date.parse(expires_at) <= Date.now()) throw invalidField('expires_at', 'must be in the future');
      const { apiKey, key } = await mutate(request, { action: 'create', entity: 'api-keys' }, async (trx) => {
        const created = await createApiKey(trx, { name, role, subject, expiresAt: expires_at, createdBy: request.actor.name });
        // The audit row records the key's metadata, never the key or its hash.
        return { result: created, entityId: created.apiKey.id, newValue: created.apiKey };
      });
      reply.header('location', `/v1/api-keys/${apiKey.id}`).header('cache-control', 'no-store');
      return reply.code(201).send({ ...apiKey, key });
    },
  });

  app.post('/v1/api-keys/:id/rotate', {
    config: { roles: ADMIN_ONLY },
    schema: {
      tags: ['access control'],
      summary: 'Rotate an API key: a new key with its name, role and subject; the old one is revoked at once',
      description: 'The new key is shown in this response only. The old key then gets a 401 naming its replacement. `expires_at` sets the new key\'s expiry (default: the old key\'s, if still ahead).',
      params: IdParams,
      body: Type.Object(
        { expires_at: Type.Optional(Instant('the new key is refused after this instant (a date-time or a date)')) },
        { additionalProperties: false, examples: [{ expires_at: '2027-06-30' }] },
      ),
      response: { 201: CreatedKey, ...problemResponses(400, 401, 403, 404, 409) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const { expires_at } = (request.body ?? {}) as { expires_at?: string };
      if (expires_at !== undefined && Date.parse(expires_at) <= Date.now()) throw invalidField('expires_at', 'must be in the future');
      const { apiKey, key } = await mutate(request, { action: 'rotate', entity: 'api-keys' }, async (trx) => {
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', ['custos:api-keys']);
        const current = await getApiKey(trx, id, true);
        if (!current) throw notFound('api key', id);
        if (current.revoked_at) throw conflict(`this key was already ${current.replaced_by ? 'rotated' : 'revoked'}`);
        const inherited = current.expires_at && Date.parse(current.expires_at) > Date.now() ? current.expires_at : null;
        // The name is unique among active keys: the old key is revoked first, in the same transaction.
        const revoked = await revokeApiKey(trx, id, request.actor.name);
        const created = await createApiKey(trx, { name: current.name, role: current.role, subject: current.subject, expiresAt: expires_at ?? inherited, createdBy: request.actor.name });
        await trx('api_keys').update({ replaced_by: created.apiKey.id }).where({ id });
        return { result: created, entityId: id, oldValue: current, newValue: { ...revoked, replaced_by: created.apiKey.id } };
      });
      forgetKey(id);
      reply.header('location', `/v1/api-keys/${apiKey.id}`).header('cache-control', 'no-store');
      return reply.code(201).send({ ...apiKey, key });
    },
  });

  app.get('/v1/api-keys', {
    config: { roles: OVERSIGHT },
    schema: {
      tags: ['access control'],
      summary: 'List API keys (metadata only), for access reviews',
      querystring: Type.Object(
        { ...PageQuery, role: Type.Optional(RoleSchema), subject: Type.Optional(Subject), include_revoked: Type.Optional(Type.Boolean({ default: false })) },
        { additionalProperties: false },
      ),
      response: { 200: Page(ApiKeyView), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => listApiKeys(app.db, request.query as ApiKeyFilters),
  });

  app.get('/v1/api-keys/:id', {
    config: { roles: OVERSIGHT },
    schema: { tags: ['access control'], summary: 'Get one API key (metadata only)', params: IdParams, response: { 200: ApiKeyView, ...problemResponses(400, 401, 403, 404) } },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const apiKey = await getApiKey(app.db, id);
      if (!apiKey) throw notFound('api key', id);
      return apiKey;
    },
  });

  app.delete('/v1/api-keys/:id', {
    config: { roles: ADMIN_ONLY },
    schema: {
      tags: ['access control'],
      summary: 'Revoke an API key',
      description: 'Idempotent: revoking a revoked key succeeds. The last active admin key cannot be revoked (409).',
      params: IdParams,
      response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 409) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      await mutate(request, { action: 'revoke', entity: 'api-keys' }, async (trx) => {
        // Serialise revocations so two admins cannot revoke each other's last keys at once.
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', ['custos:api-keys']);
        const current = await getApiKey(trx, id, true);
        if (!current) throw notFound('api key', id);
        if (current.revoked_at) return { result: current, entityId: id, oldValue: current, newValue: current };
        if (current.role === 'admin' && (await countActiveAdmins(trx)) <= 1) {
          throw conflict('this is the last active admin key; create another admin key first');
        }
        const revoked = await revokeApiKey(trx, id, request.actor.name);
        return { result: revoked, entityId: id, oldValue: current, newValue: revoked };
      });
      forgetKey(id);
      return reply.code(204).send();
    },
  });
}
