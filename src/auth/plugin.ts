import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AuditContext } from '../audit/repository.js';
import { sendProblem } from '../http/errors.js';
import { HttpProblem } from '../http/problem.js';
import type { Role } from '../http/schemas.js';
import { findKey, recordKeyUse, type ApiKey } from './repository.js';
import { findSession, sessionRole, SESSION_COOKIE, type ConsoleSession } from './sessions.js';

export interface Actor {
  /** The API key that authenticated the request; null for a person's console session. */
  keyId: string | null;
  /** Shown in lists and audit rows: the key's name, or the person's email (else their subject). */
  name: string;
  role: Role;
  /** The person or machine identity behind the credential (a key's subject, a person's IdP subject); four-eyes checks compare this, never key ids or names. */
  subject: string;
  email: string | null;
  via: 'key' | 'session';
  /** A bound pipeline key's principals: its access decisions may name only these. null: unbound. */
  principals: readonly string[] | null;
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
    /**
     * The console session behind the request, if it came from the console (not from a key).
     * @fastify/csrf-protection reads the session's CSRF secret from here, as from @fastify/session.
     */
    session?: ConsoleSession;
  }
  interface FastifyInstance {
    /** Writes the pending last_used_at times now (tests; otherwise every 30 s and on close). */
    flushKeyUse(): Promise<void>;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** @fastify/csrf-protection's (synchronous) check; when the token is wrong it has already replied 403. */
function csrfValid(request: FastifyRequest, reply: import('fastify').FastifyReply): boolean {
  let valid = false;
  request.server.csrfProtection(request, reply, () => {
    valid = true;
  });
  return valid;
}

const BEARER = /^Bearer ([A-Za-z0-9_\-.~+/=]{16,200})$/;

/**
 * Valid keys are remembered for 5 s, so a busy pipeline costs one lookup per key every 5 s rather
 * than one per request. A revocation takes effect at once on the instance that revoked it
 * (forgetKey) and within 5 s on the others. Unknown keys are not cached.
 */
const KEY_CACHE_MS = 5_000;
// One cache per database: a key's secret names a row of that database only. A cache shared by the
// process let a second app (tests build several, each on its own database, all with the same
// bootstrap secret) take the first one's key, subject included, for up to 5 s.
const keyCaches = new WeakMap<import('knex').Knex, Map<string, { apiKey: ApiKey; until: number }>>();
const cacheOf = (db: import('knex').Knex) => {
  let cache = keyCaches.get(db);
  if (!cache) keyCaches.set(db, (cache = new Map()));
  return cache;
};

export function forgetKey(db: import('knex').Knex, id: string): void {
  const keyCache = cacheOf(db);
  for (const [key, entry] of keyCache) if (entry.apiKey.id === id) keyCache.delete(key);
}

/** The active key with this secret, or why there is none (the 401 says which). */
async function lookupKey(db: import('knex').Knex, key: string): Promise<ApiKey | string> {
  const keyCache = cacheOf(db);
  const cached = keyCache.get(key);
  if (cached && cached.until > Date.now()) return cached.apiKey;
  keyCache.delete(key);
  const apiKey = await findKey(db, key);
  if (!apiKey) return 'a valid API key is required: Authorization: Bearer <key>';
  if (apiKey.revoked_at) {
    return `this API key (${apiKey.key_prefix}…) was ${apiKey.replaced_by ? 'rotated' : 'revoked'} at ${apiKey.revoked_at}${apiKey.replaced_by ? `; use its replacement ${apiKey.replaced_by}` : ''}`;
  }
  if (apiKey.expires_at && Date.parse(apiKey.expires_at) <= Date.now()) return `this API key (${apiKey.key_prefix}…) expired at ${apiKey.expires_at}`;
  if (keyCache.size > 10_000) keyCache.clear();
  // Never cached past its expiry.
  keyCache.set(key, { apiKey, until: Math.min(Date.now() + KEY_CACHE_MS, apiKey.expires_at ? Date.parse(apiKey.expires_at) : Infinity) });
  return apiKey;
}

/** last_used_at, kept in memory and written in one statement every 30 s and on close. */
const USE_FLUSH_MS = 30_000;

/** Whether two actors are the same person: by subject, so two keys of one person count once. */
export const sameSubject = (actor: Actor, subject: string | null | undefined): boolean => subject !== null && subject !== undefined && actor.subject === subject;

/** The audit context of an authenticated request. */
export function auditContext(request: FastifyRequest): AuditContext {
  return {
    actor: request.actor.name,
    actorKeyId: request.actor.keyId,
    subject: request.actor.subject,
    role: request.actor.role,
    email: request.actor.email,
    clientIp: request.ip,
    requestId: String(request.id),
  };
}

export default fp(
  async function authentication(app: FastifyInstance) {
    app.decorateRequest('actor', null as unknown as Actor);
    let uses = new Map<string, string>();
    const flush = async () => {
      const batch = uses;
      uses = new Map();
      await recordKeyUse(app.db, batch).catch((error) => app.log.warn({ err: error }, 'could not record API key use'));
    };
    const timer = setInterval(() => void flush(), USE_FLUSH_MS);
    timer.unref();
    app.decorate('flushKeyUse', flush);
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await flush();
    });
    // Failed authentications are counted per client (IP address) by @fastify/rate-limit, in this
    // instance's memory. Past the limit the client gets 429 for the rest of the window before any key
    // or session is looked up, so keys cannot be guessed at speed; requests that authenticate are
    // never counted.
    await app.register(rateLimit, { global: false });
    const failures = app.createRateLimit({
      max: app.config.authFailureLimit,
      timeWindow: app.config.authFailureWindowSeconds * 1000,
      keyGenerator: (request) => request.ip,
    });
    const unauthorized = async (request: FastifyRequest, reply: FastifyReply, detail: string) => {
      await failures(request);
      return sendProblem(reply, request, new HttpProblem(401, 'unauthorized', detail));
    };

    app.addHook('onRequest', async (request, reply) => {
      const config = request.routeOptions.config;
      if (config.public || request.is404) return;
      const seen = await failures(request, { increment: false });
      if (!seen.isAllowed && seen.remaining === 0) {
        reply.header('retry-after', String(Math.max(1, seen.ttlInSeconds)));
        return sendProblem(
          reply,
          request,
          new HttpProblem(429, 'too-many-failed-authentications', `${seen.max} failed authentications from ${request.ip} within ${app.config.authFailureWindowSeconds} s: retry after ${Math.max(1, seen.ttlInSeconds)} s`),
        );
      }
      const authorization = request.headers.authorization;
      const cookie = request.cookies[SESSION_COOKIE];
      if (authorization === undefined && cookie) {
        // A person's console session authenticates exactly like a key, with their mapped role.
        const { sessionIdleMinutes: idleMinutes, sessionMaxHours: maxHours } = app.config;
        const session = await findSession(app.db, cookie, { idleMinutes, maxHours });
        const role = session ? await sessionRole(app.db, session) : undefined;
        if (!session || !role) return unauthorized(request, reply, 'the console session has ended or lost its role: sign in again');
        request.session = session;
        request.actor = { keyId: null, name: session.email ?? session.subject, role, subject: session.subject, email: session.email, via: 'session', principals: null };
        if (!config.roles?.includes(role)) {
          return sendProblem(reply, request, new HttpProblem(403, 'forbidden', `role ${role} may not ${request.method} ${request.routeOptions.url}`));
        }
        // A cookie is sent by the browser on its own, so every state-changing request also carries
        // the session's CSRF token (x-csrf-token), which another site cannot read.
        if (!SAFE_METHODS.has(request.method) && !csrfValid(request, reply)) return reply;
        return;
      }
      const match = BEARER.exec(authorization ?? '');
      const apiKey = match ? await lookupKey(app.db, match[1]!) : 'a valid API key is required: Authorization: Bearer <key>';
      if (typeof apiKey === 'string') {
        reply.header('www-authenticate', 'Bearer realm="custos"');
        return unauthorized(request, reply, apiKey);
      }
      uses.set(apiKey.id, new Date().toISOString());
      request.actor = { keyId: apiKey.id, name: apiKey.name, role: apiKey.role, subject: apiKey.subject, email: null, via: 'key', principals: apiKey.principals ?? null };
      if (!config.roles?.includes(apiKey.role)) {
        return sendProblem(reply, request, new HttpProblem(403, 'forbidden', `role ${apiKey.role} may not ${request.method} ${request.routeOptions.url}`));
      }
    });
  },
  { name: 'authentication', dependencies: ['database', '@fastify/cookie', '@fastify/csrf-protection'] },
);
