import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AuditContext } from '../audit/repository.js';
import { sendProblem } from '../http/errors.js';
import { HttpProblem } from '../http/problem.js';
import type { Role } from '../http/schemas.js';
import { findActiveKey } from './repository.js';

export interface Actor {
  keyId: string;
  name: string;
  role: Role;
  /** The person or machine identity behind the credential; four-eyes checks compare this, never key ids or names. */
  subject: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles allowed to call the route. A route without roles (and not public) is refused to all. */
    roles?: readonly Role[];
    /** Reachable without a key: health probes and the API docs only. */
    public?: boolean;
  }
  interface FastifyRequest {
    actor: Actor;
  }
}

const BEARER = /^Bearer ([A-Za-z0-9_\-.~+/=]{16,200})$/;

/**
 * Valid keys are remembered for 5 s, so a busy pipeline costs one lookup per key every 5 s rather
 * than one per request. A revocation takes effect at once on the instance that revoked it
 * (forgetKey) and within 5 s on the others. Unknown keys are not cached.
 */
const KEY_CACHE_MS = 5_000;
const keyCache = new Map<string, { apiKey: NonNullable<Awaited<ReturnType<typeof findActiveKey>>>; until: number }>();

export function forgetKey(id: string): void {
  for (const [key, entry] of keyCache) if (entry.apiKey.id === id) keyCache.delete(key);
}

async function lookupKey(db: import('knex').Knex, key: string) {
  const cached = keyCache.get(key);
  if (cached && cached.until > Date.now()) return cached.apiKey;
  keyCache.delete(key);
  const apiKey = await findActiveKey(db, key);
  if (apiKey) {
    if (keyCache.size > 10_000) keyCache.clear();
    keyCache.set(key, { apiKey, until: Date.now() + KEY_CACHE_MS });
  }
  return apiKey;
}

/** Whether two actors are the same person: by subject, so two keys of one person count once. */
export const sameSubject = (actor: Actor, subject: string | null | undefined): boolean => subject !== null && subject !== undefined && actor.subject === subject;

/** The audit context of an authenticated request. */
export function auditContext(request: FastifyRequest): AuditContext {
  return {
    actor: request.actor.name,
    actorKeyId: request.actor.keyId,
    subject: request.actor.subject,
    role: request.actor.role,
    clientIp: request.ip,
    requestId: String(request.id),
  };
}

export default fp(
  async function authentication(app: FastifyInstance) {
    app.decorateRequest('actor', null as unknown as Actor);
    app.addHook('onRequest', async (request, reply) => {
      const config = request.routeOptions.config;
      if (config.public || request.is404) return;
      const match = BEARER.exec(request.headers.authorization ?? '');
      const apiKey = match ? await lookupKey(app.db, match[1]!) : undefined;
      if (!apiKey) {
        reply.header('www-authenticate', 'Bearer realm="custos"');
        return sendProblem(reply, request, new HttpProblem(401, 'unauthorized', 'a valid API key is required: Authorization: Bearer <key>'));
      }
      request.actor = { keyId: apiKey.id, name: apiKey.name, role: apiKey.role, subject: apiKey.subject };
      if (!config.roles?.includes(apiKey.role)) {
        return sendProblem(reply, request, new HttpProblem(403, 'forbidden', `role ${apiKey.role} may not ${request.method} ${request.routeOptions.url}`));
      }
    });
  },
  { name: 'authentication', dependencies: ['database'] },
);
