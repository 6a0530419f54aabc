import type { FastifyRequest } from 'fastify';
import { HttpProblem } from '../http/problem.js';

/**
 * A pipeline key bound to principals (`principals` on POST /v1/api-keys) asks access decisions about
 * those principals only: any other is refused with 403 before anything is decided or logged, so a
 * key cannot enumerate the catalog through principals it does not serve. An unbound key (null) is
 * not limited; GET /v1/api-keys?unbound=true lists such keys for review.
 *
 * `principals` pairs each asked principal with the body field that holds it, for the problem.
 */
export function checkPrincipalBinding(request: FastifyRequest, principals: Iterable<{ principal: unknown; field: string }>): void {
  const bound = request.actor.principals;
  if (!bound) return;
  const allowed = new Set(bound);
  for (const { principal, field } of principals) {
    if (typeof principal === 'string' && allowed.has(principal)) continue;
    const message = `this key is bound to ${bound.length === 1 ? 'one principal' : `${bound.length} principals`} and may not ask about ${typeof principal === 'string' ? principal.slice(0, 300) : 'this principal'}`;
    throw new HttpProblem(403, 'forbidden', `${field}: ${message}`, [{ location: 'body', field, message }]);
  }
}
