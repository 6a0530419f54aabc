import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';

export interface FaultOptions {
  /** Answer the first n (matching) requests with the fault, then forward. */
  failFirst?: number;
  /** Answer every (matching) request with the fault: an endpoint that stays down. */
  failAlways?: boolean;
  /** 500 and 503 are server errors, which the SDK retries; a plain 400 is a client error, which it does not. */
  status?: 500 | 503 | 400;
  /**
   * Throttle instead: HTTP 400 with the throttling error of the request's protocol (Throttling for
   * the query protocol, RequestLimitExceeded for EC2, ThrottlingException for JSON protocols), or
   * 503 SlowDown for S3. `status` is then ignored.
   */
  throttle?: boolean;
  /** Only requests this accepts can be faulted (all by default); the others are always forwarded. */
  match?: (request: { method: string; url: string; service: string; target: string | undefined }) => boolean;
}

export interface FaultyProxy {
  endpoint: string;
  /** Requests received. */
  requests: number;
  /** Requests answered with the fault. */
  faulted: number;
  /** Requests received, per AWS service (from the SigV4 credential scope). */
  byService: Record<string, number>;
  /** Every request as it arrived: when (performance.now()), its service, action (query protocol's `Action`, or the JSON protocols' target) and body's first 1,000 characters. */
  log: Array<{ at: number; service: string; action: string | undefined; body: string }>;
}

/** The signing name of the service a request is for, from its SigV4 Authorization header. */
function serviceOf(headers: http.IncomingHttpHeaders): string {
  const match = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(headers.authorization ?? '');
  return match?.[1] ?? 'unknown';
}

/** The status, headers and body AWS answers with for an error `code`, in the request's protocol. */
function awsError(service: string, headers: http.IncomingHttpHeaders, status: number, code: string, message: string) {
  const requestId = 'c0ffee00-0000-4000-8000-000000000000';
  if (service === 's3') {
    return { status, type: 'application/xml', headers: {}, body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId></Error>` };
  }
  if (headers['x-amz-target']) {
    // awsJson1_0 / awsJson1_1 (KMS, CloudTrail, Config)
    return { status, type: headers['content-type'] ?? 'application/x-amz-json-1.1', headers: {}, body: JSON.stringify({ __type: code, message }) };
  }
  if (String(headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    if (service === 'ec2') {
      return { status, type: 'text/xml', headers: {}, body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>` };
    }
    // awsQuery (IAM, RDS, STS)
    return { status, type: 'text/xml', headers: {}, body: `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>` };
  }
  // restJson1 (Security Hub, Lake Formation)
  return { status, type: 'application/json', headers: { 'x-amzn-errortype': code, 'x-amzn-requestid': requestId }, body: JSON.stringify({ message }) };
}

function fault(service: string, headers: http.IncomingHttpHeaders, options: FaultOptions) {
  if (options.throttle) {
    if (service === 's3') return awsError(service, headers, 503, 'SlowDown', 'Please reduce your request rate.');
    if (service === 'ec2') return awsError(service, headers, 400, 'RequestLimitExceeded', 'Request limit exceeded.');
    const query = String(headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    return awsError(service, headers, 400, query ? 'Throttling' : 'ThrottlingException', 'Rate exceeded');
  }
  const status = options.status ?? 500;
  if (status === 400) return awsError(service, headers, 400, service === 's3' ? 'InvalidRequest' : 'ValidationException', 'Injected client error');
  return awsError(service, headers, status, status === 503 ? (service === 's3' ? 'ServiceUnavailable' : 'ServiceUnavailableException') : service === 's3' ? 'InternalError' : 'InternalFailure', 'Injected server error');
}

/**
 * A loopback HTTP proxy in front of `target` (moto) that answers some requests with an AWS error
 * instead of forwarding them. Closed on t's teardown.
 */
export async function startFaultyProxy(t: Test, target: string, options: FaultOptions): Promise<FaultyProxy> {
  const upstream = new URL(target);
  const state: FaultyProxy = { endpoint: '', requests: 0, faulted: 0, byService: {}, log: [] };
  let candidates = 0;

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const service = serviceOf(request.headers);
      state.requests++;
      state.byService[service] = (state.byService[service] ?? 0) + 1;
      const target = request.headers['x-amz-target'] as string | undefined;
      const action = target ?? (String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') ? (new URLSearchParams(body.toString()).get('Action') ?? undefined) : undefined);
      state.log.push({ at: performance.now(), service, action, body: body.subarray(0, 1000).toString() });
      const eligible = options.match ? options.match({ method: request.method ?? 'GET', url: request.url ?? '/', service, target }) : true;
      if (eligible) candidates++;
      if (eligible && (options.failAlways || candidates <= (options.failFirst ?? 0))) {
        state.faulted++;
        const answer = fault(service, request.headers, options);
        response.writeHead(answer.status, { 'content-type': answer.type, 'content-length': Buffer.byteLength(answer.body), ...answer.headers });
        response.end(answer.body);
        return;
      }
      const forward = http.request(
        { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers },
        (reply) => {
          response.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(response);
        },
      );
      forward.on('error', (error) => {
        response.writeHead(502, { 'content-type': 'text/plain' });
        response.end(String(error));
      });
      forward.end(body);
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return state;
}
