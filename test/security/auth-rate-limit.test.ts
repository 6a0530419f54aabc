/**
 * Issue 13: failed authentications are rate-limited per client (@fastify/rate-limit). Before, any
 * number of wrong keys could be tried at full speed. Now, past CUSTOS_AUTH_FAILURE_LIMIT failures
 * within the window, the client gets 429 problem+json with Retry-After, before any key is looked up
 * (so a right guess gets 429 too); requests that authenticate are never counted; other clients are
 * not affected; the window ends.
 */
import t from 'tap';
import { DEFAULT_AUTH_FAILURE_LIMIT } from '../../src/config.js';
import { testApp } from '../helpers/app.js';

const WRONG = 'cus_not-a-key-0000000000000000000000';

t.test('N failed authentications from one client → 429 with Retry-After; valid keys are not counted', async (t) => {
  const api = await testApp(t, { config: { authFailureLimit: DEFAULT_AUTH_FAILURE_LIMIT, authFailureWindowSeconds: 3 } });
  const from = (remoteAddress: string, key?: string) =>
    api.app.inject({ method: 'GET', url: '/v1/domains', remoteAddress, headers: key ? { authorization: `Bearer ${key}` } : {} });

  // Successful requests, many more than the limit: never limited.
  for (let i = 0; i < DEFAULT_AUTH_FAILURE_LIMIT * 2; i++) {
    const ok = await from('10.0.0.1', api.keys.auditor);
    if (ok.statusCode !== 200) t.fail(`valid request ${i}: ${ok.statusCode}`);
  }
  // The limit's worth of failures: each a 401 naming the reason.
  for (let i = 0; i < DEFAULT_AUTH_FAILURE_LIMIT; i++) {
    const failed = await from('10.0.0.1', i % 2 ? WRONG : undefined);
    if (failed.statusCode !== 401) t.fail(`failure ${i}: ${failed.statusCode}`);
  }
  const limited = await from('10.0.0.1', WRONG);
  t.equal(limited.statusCode, 429, 'the next attempt is refused');
  t.match(limited.headers['content-type'], /application\/problem\+json/);
  t.match(limited.json(), { type: '/problems/too-many-failed-authentications', status: 429, detail: /retry after \d+ s/ });
  const retryAfter = Number(limited.headers['retry-after']);
  t.ok(retryAfter >= 1 && retryAfter <= 3, `Retry-After: ${retryAfter}`);
  t.equal((await from('10.0.0.1', api.keys.admin)).statusCode, 429, 'no key is tried while the client is limited, a valid one neither');
  t.equal((await from('10.0.0.2', api.keys.auditor)).statusCode, 200, 'another client is not affected');
  t.equal((await from('10.0.0.2', WRONG)).statusCode, 401, "another client's failures are its own");
  t.equal((await api.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '10.0.0.1' })).statusCode, 200, 'public probes stay reachable');

  // The window ends.
  await new Promise((r) => setTimeout(r, (retryAfter + 0.2) * 1000));
  t.equal((await from('10.0.0.1', api.keys.auditor)).statusCode, 200, 'after Retry-After the client is served again');
});
