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

/** The audit context of an authenticated request. */
export function auditContext(request: FastifyRequest): AuditContext {
  return {
    actor: request.actor.name,
    actorKeyId: request.actor.keyId,
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
      const apiKey = match ? await findActiveKey(app.db, match[1]!) : undefined;
      if (!apiKey) {
        reply.header('www-authenticate', 'Bearer realm="custos"');
        return sendProblem(reply, request, new HttpProblem(401, 'unauthorized', 'a valid API key is required: Authorization: Bearer <key>'));
      }
      request.actor = { keyId: apiKey.id, name: apiKey.name, role: apiKey.role };
      if (!config.roles?.includes(apiKey.role)) {
        return sendProblem(reply, request, new HttpProblem(403, 'forbidden', `role ${apiKey.role} may not ${request.method} ${request.routeOptions.url}`));
      }
    });
  },
  { name: 'authentication', dependencies: ['database'] },
);
