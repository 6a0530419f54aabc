import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { routePattern } from './openapi.js';
import { databaseUnavailable, describeDatabaseError } from '../db/errors.js';
import { HttpProblem } from './problem.js';
import { fieldErrors } from './validation.js';

const FASTIFY_CLIENT_ERRORS: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad-request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed-body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed-body',
  // @fastify/csrf-protection: a console request without its session's x-csrf-token.
  FST_CSRF_MISSING_SECRET: 'csrf-token-invalid',
  FST_CSRF_INVALID_TOKEN: 'csrf-token-invalid',
};

/** Every error becomes a problem; unexpected ones are logged and told apart from client mistakes. */
export function toHttpProblem(error: FastifyError): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error.validation) {
    const errors = fieldErrors(error.validation as never, (error.validationContext ?? 'body') as never);
    return new HttpProblem(400, 'validation-error', errors.map((e) => `${e.location}.${e.field} ${e.message}`).join('; '), errors);
  }
  const database = describeDatabaseError(error) ?? databaseUnavailable(error);
  if (database) return database;
  if (error.code && FASTIFY_CLIENT_ERRORS[error.code]) {
    return new HttpProblem(error.statusCode ?? 400, FASTIFY_CLIENT_ERRORS[error.code]!, error.message);
  }
  if (error instanceof SyntaxError || (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)) {
    return new HttpProblem(error.statusCode ?? 400, 'malformed-body', error.message);
  }
  return new HttpProblem(500, 'internal-error', 'An unexpected error occurred; the request id identifies it in the logs.');
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, problem: HttpProblem) {
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send(problem.toProblem(String(request.id), request.url.split('?')[0]));
}

export default fp(
  async function errorHandling(app: FastifyInstance) {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const problem = toHttpProblem(error);
      if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
      else request.log.info({ problem: problem.slug, status: problem.status }, 'request rejected');
      return sendProblem(reply, request, problem);
    });
    // A known path asked with another method is a 405 naming the allowed ones, not a 404.
    const routes: Array<{ method: string; pattern: RegExp }> = [];
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) routes.push({ method, pattern: routePattern(route.url) });
    });
    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0]!;
      const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))];
      if (allowed.length > 0) {
        reply.header('allow', allowed.join(', '));
        return sendProblem(reply, request, new HttpProblem(405, 'method-not-allowed', `${request.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`));
      }
      return sendProblem(reply, request, new HttpProblem(404, 'not-found', `no route ${request.method} ${path}`));
    });
  },
  { name: 'error-handling' },
);
