import type { IncomingMessage } from 'node:http';

/**
 * Request ids. Every request gets Custos's own id (a UUID): it is the `x-request-id` of the response,
 * the `request_id` of problems, of the audit log and of the decision log, and the `reqId` of log
 * lines. A client's `X-Request-Id` is never adopted: the audit log records ids the client does not
 * choose, so no client can make its rows look like another request's. A client's id that is at most
 * 128 characters of [A-Za-z0-9._:-] is kept apart, in the request's log line as `client_request_id`,
 * to find Custos's id from it; any other value is ignored.
 */
export const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's X-Request-Id, when it is a valid one. */
export function clientRequestId(request: Pick<IncomingMessage, 'headers'>): string | undefined {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : undefined;
}
