import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PrincipalArn } from '../access/principals.js';
import { recordAudit } from '../audit/repository.js';
import { guardedChange, PendingChange, sendOutcome, type ChangeTarget } from '../changes/index.js';
import { mutate } from '../http/crud.js';
import { conflict, HttpProblem, invalidField, notFound, problemResponses } from '../http/problem.js';
import { IdParams, Instant, Page, PageQuery, RoleSchema, type Role } from '../http/schemas.js';
import { forgetKey } from './plugin.js';
import { ADMIN_ONLY, OVERSIGHT } from './roles.js';
import { countActiveAdmins, createApiKey, getApiKey, listApiKeys, revokeApiKey, setKeyPrincipals, type ApiKey, type ApiKeyFilters } from './repository.js';

/** A subject: printable text (an SSO subject, an e-mail, a service name). */
const Subject = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });
const RESERVED_SUBJECT = /^(key|system):/;

/** The principals a pipeline key may ask access decisions about. */
const Principals = Type.Array(PrincipalArn, {
  minItems: 1,
  maxItems: 1000,
  description: 'pipeline keys only: the principals (IAM ARNs) this key asks access decisions about; a decision about any other is refused (403). Omitted: unbound, the key may ask about any principal',
});

/** Duplicates dropped, order kept. */
const distinct = (principals: string[]) => [...new Set(principals)];

function checkPrincipalsFor(role: Role, principals: string[] | undefined | null): void {
  if (principals !== undefined && principals !== null && role !== 'pipeline') {
    throw invalidField('principals', `only a pipeline key is bound to principals; this key's role is ${role}`);
  }
}

const ApiKeyView = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String({ examples: ['alice'] }),
    role: RoleSchema,
    subject: Type.String({ description: 'The person or machine identity the key belongs to; four-eyes checks compare subjects' }),
    key_prefix: Type.String({ description: 'First characters of the key, to recognise it' }),
    created_at: Type.String({ format: 'date-time' }),
    created_by: Type.String(),
    created_by_subject: Type.Union([Type.String(), Type.Null()], {
      description:
        'the subject that created (or rotated) the key and so saw it. Four-eyes checks count it as the same person as the key\'s subject (and so on up the chain of issuers): a change proposed by one is never approved by the other. null: the bootstrap key (or a key whose creation the audit log did not name)',
    }),
    revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    revoked_by: Type.Union([Type.String(), Type.Null()]),
    expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'after this instant the key is refused (401 saying so); null: no expiry' }),
    last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'last authenticated request, recorded within 30 s' }),
    replaced_by: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'the key that replaced it when it was rotated' }),
    principals: Type.Union([Type.Array(Type.String()), Type.Null()], {
      description: 'a pipeline key\'s principals: it asks access decisions about these only. null: not bound (a pipeline key then asks about any principal; list them with ?unbound=true)',
    }),
  },
  { title: 'ApiKey' },
);

const CreatedKey = Type.Intersect([ApiKeyView, Type.Object({ key: Type.String({ description: 'the key itself: shown in this response only' }) })], {
  title: 'CreatedApiKey',
  examples: [
    {
      id: '0190a8d2-7c1e-7000-8000-000000000001', name: 'alice', role: 'steward', subject: 'alice@bank.example', key_prefix: 'cus_AbCd', created_at: '2026-01-01T00:00:00.000Z',
      created_by: 'bootstrap-admin', created_by_subject: 'key:0190a8d2-7c1e-7000-8000-000000000000', revoked_at: null, revoked_by: null, expires_at: '2027-01-01T00:00:00.000Z', last_used_at: null, replaced_by: null, principals: null, key: 'cus_AbCd…',
    },
  ],
});

/** Why a new binding widens what a key may ask about (none: it does not), and who approves it. */
function widening(current: ApiKey, to: string[] | null) {
  const reasons: string[] = [];
  if (current.principals !== null) {
    const before = new Set(current.principals);
    if (to === null) reasons.push(`API key ${current.name} is unbound: it may then ask access decisions about any principal`);
    else {
      const added = to.filter((p) => !before.has(p));
      if (added.length) reasons.push(`API key ${current.name} may then ask about ${added.length === 1 ? 'principal' : `${added.length} more principals:`} ${added.slice(0, 10).join(', ')}${added.length > 10 ? ', …' : ''}`);
    }
  }
  return { reasons, approvers: { roles: ['admin' as Role], subjects: [] } };
}

export default async function apiKeyRoutes(app: FastifyInstance) {
  app.post('/v1/api-keys', {
    config: { roles: ADMIN_ONLY },
    schema: {
      tags: ['access control'],
      summary: 'Create an API key (the key is shown in this response only)',
      description:
        '`subject` names the person or machine the key belongs to (e.g. their SSO subject or e-mail): keys with one subject are one identity for four-eyes checks. ' +
        'Default `key:<id>`, so unrelated keys are distinct. `key:` and `system:` are reserved prefixes. ' +
        'The caller is recorded as the key\'s issuer (`created_by_subject`): four-eyes checks count the caller and the key\'s subject as one person. ' +
        'A pipeline key may be bound to `principals`: it then asks access decisions about those only (others: 403 naming the field); rotation keeps the binding.',
      body: Type.Object(
        {
          role: RoleSchema,
          name: Type.String({ minLength: 1, maxLength: 100 }),
          subject: Type.Optional(Subject),
          expires_at: Type.Optional(Instant('the key is refused after this instant (a date-time or a date); default: never')),
          principals: Type.Optional(Principals),
        },
        {
          additionalProperties: false,
          examples: [
            { role: 'steward', name: 'alice', subject: 'alice@bank.example', expires_at: '2027-01-01' },
            { role: 'pipeline', name: 'analytics-etl', expires_at: '2027-01-01', principals: ['arn:aws:iam::111122223333:role/analytics-etl'] },
          ],
        },
      ),
      response: {
        201: CreatedKey,
        ...problemResponses(400, 401, 403, 409),
      },
    },
    handler: async (request, reply) => {
      const { role, name, subject, expires_at, principals } = request.body as { role: Role; name: string; subject?: string; expires_at?: string; principals?: string[] };
      checkPrincipalsFor(role, principals);
      if (subject !== undefined && RESERVED_SUBJECT.test(subject)) {
        throw invalidField('subject', 'the prefixes key: and system: are reserved (key:<id> is the default subject of a key)');
      }
      if (expires_at !== undefined && Date.parse(expires_at) <= Date.now()) throw invalidField('expires_at', 'must be in the future');
      const { apiKey, key } = await mutate(request, { action: 'create', entity: 'api-keys' }, async (trx) => {
        const created = await createApiKey(trx, { name, role, subject, expiresAt: expires_at, createdBy: request.actor.name, createdBySubject: request.actor.subject, principals: principals && distinct(principals) });
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
      summary: 'Rotate an API key: a new key with its name, role, subject and principals; the old one is revoked at once',
      description:
        'The new key is shown in this response only, so the caller becomes its issuer (`created_by_subject`: one person with its subject for four-eyes checks). ' +
        'The old key then gets a 401 naming its replacement. `expires_at` sets the new key\'s expiry (default: the old key\'s, if still ahead).',
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
        // The replacement keeps the binding: rotating never widens what a pipeline key may ask about.
        const created = await createApiKey(trx, { name: current.name, role: current.role, subject: current.subject, expiresAt: expires_at ?? inherited, createdBy: request.actor.name, createdBySubject: request.actor.subject, principals: current.principals });
        await trx('api_keys').update({ replaced_by: created.apiKey.id }).where({ id });
        return { result: created, entityId: id, oldValue: current, newValue: { ...revoked, replaced_by: created.apiKey.id } };
      });
      forgetKey(app.db, id);
      reply.header('location', `/v1/api-keys/${apiKey.id}`).header('cache-control', 'no-store');
      return reply.code(201).send({ ...apiKey, key });
    },
  });

  // Changing a key's principals: narrowing (or binding an unbound key) applies at once; adding a
  // principal or removing the binding widens what the key may ask about, so a second admin approves
  // it (src/changes/), unless an admin breaks glass. Either way the audit log records old and new.
  const rebind = app.changeKinds.register({
    kind: 'api-keys.set_principals',
    entity: 'api-keys',
    apply: async (trx, target: ChangeTarget, context) => {
      const { from, to } = target.payload as { from: string[] | null; to: string[] | null };
      await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', ['custos:api-keys']);
      const current = await getApiKey(trx, target.entityId, true);
      if (!current) throw notFound('api key', target.entityId);
      if (current.revoked_at) throw conflict(`this key was ${current.replaced_by ? `rotated (its replacement is ${current.replaced_by})` : 'revoked'}: bind the active key instead`);
      if (JSON.stringify(current.principals) !== JSON.stringify(from)) {
        throw new HttpProblem(409, 'stale-change', `api key ${target.entityId} was bound to other principals since this change was proposed: propose it again`);
      }
      const updated = await setKeyPrincipals(trx, target.entityId, to);
      await recordAudit(trx, context, { action: 'set_principals', entity: 'api-keys', entityId: target.entityId, oldValue: current, newValue: updated });
      return { result: updated, afterCommit: async () => forgetKey(app.db, target.entityId) };
    },
  });

  app.put('/v1/api-keys/:id/principals', {
    config: { roles: ADMIN_ONLY },
    schema: {
      tags: ['access control'],
      summary: "Set a pipeline key's principals (null: unbind)",
      description:
        'Narrowing the list, or binding an unbound key, applies at once (200). Adding a principal or unbinding widens what the key may ask about: ' +
        'a pending change (202) that another admin approves (`/v1/pending-changes`), unless an admin breaks glass (`x-break-glass-reason`). ' +
        'Other instances see the change within 5 s (their key cache).',
      params: IdParams,
      body: Type.Object(
        { principals: Type.Union([Principals, Type.Null()]) },
        { additionalProperties: false, examples: [{ principals: ['arn:aws:iam::111122223333:role/analytics-etl'] }] },
      ),
      response: { 200: ApiKeyView, 202: PendingChange, ...problemResponses(400, 401, 403, 404, 409) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const requested = (request.body as { principals: string[] | null }).principals;
      const to = requested === null ? null : distinct(requested);
      const outcome = await guardedChange(request, rebind, async (trx) => {
        const current = await getApiKey(trx, id, true);
        if (!current) throw notFound('api key', id);
        checkPrincipalsFor(current.role, to);
        if (current.revoked_at) throw conflict(`this key was already ${current.replaced_by ? 'rotated' : 'revoked'}`);
        return { entityId: id, baseVersion: null, payload: { from: current.principals, to }, summary: `set the principals of API key ${current.name} (${current.key_prefix}…)`, ...widening(current, to) };
      });
      return sendOutcome(reply, outcome, (updated) => reply.send(updated));
    },
  });

  app.get('/v1/api-keys', {
    config: { roles: OVERSIGHT },
    schema: {
      tags: ['access control'],
      summary: 'List API keys (metadata only), for access reviews',
      querystring: Type.Object(
        {
          ...PageQuery,
          role: Type.Optional(RoleSchema),
          subject: Type.Optional(Subject),
          include_revoked: Type.Optional(Type.Boolean({ default: false })),
          unbound: Type.Optional(Type.Boolean({ description: 'true: pipeline keys bound to no principal (they may ask about any: review them); false: bound pipeline keys' })),
        },
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
      forgetKey(app.db, id);
      return reply.code(204).send();
    },
  });
}
