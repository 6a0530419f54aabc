import type { FastifyRequest } from 'fastify';
import { clientRequestId } from './http/request-id.js';

/**
 * Secrets and keys never reach the logs. Request bodies are not logged at all (they may carry PII,
 * e.g. a sample SSN sent to a masking preview), and query strings are cut from logged URLs.
 */
export const logRedactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  '*.key',
  '*.key_hash',
  '*.password',
  '*.secret',
  '*.token',
  '*.databaseUrl',
  '*.adminKey',
  '*.signingKey',
  '*.privateKey',
];

export function requestSerializer(request: FastifyRequest) {
  const client = clientRequestId(request);
  return {
    method: request.method,
    url: request.url.split('?')[0],
    id: request.id,
    remoteAddress: request.ip,
    ...(client ? { client_request_id: client } : {}),
  };
}
