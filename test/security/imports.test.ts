/**
 * Issue 13: a snapshot of 500,000 empty findings (1.5 MB) exhausted the heap and killed the
 * process; 100,000 gave a 500 (`push(...errors)` overflowed the stack). Now: a 400 listing the
 * first 100 problems with the count of all, nothing stored, and the event loop free meanwhile.
 */
import t from 'tap';
import { MAX_REPORTED_ERRORS } from '../../src/sources/snapshot.js';
import { testApp } from '../helpers/app.js';
import { slowestHealthProbe } from '../helpers/hostile.js';

const HEALTH_BOUND_MS = 2_000;

t.test('500,000 empty findings: a 400 with the first 100 problems and the count', async (t) => {
  const api = await testApp(t);
  const address = await api.app.listen({ port: 0, host: '127.0.0.1' });
  const body = `{"source":"file","snapshot":{"resources":[],"lake_formation":{"permissions":[]},"findings":[${Array(500_000).fill('{}').join(',')}]}}`;
  t.ok(body.length < 2 * 1024 * 1024, `${body.length} bytes`);
  const runs = await api.app.db('collection_runs').count('* as n').first();

  const request = fetch(`${address}/v1/collections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.keys.compliance_officer}`, 'content-type': 'application/json' },
    body,
  }).then(async (r) => ({ status: r.status, type: r.headers.get('content-type'), body: await r.json() }));
  const { result, slowestMs } = await slowestHealthProbe(address, request);
  t.equal(result.status, 400);
  t.match(result.type, /application\/problem\+json/);
  t.equal(result.body.type, '/problems/invalid-snapshot');
  t.equal(result.body.errors.length, MAX_REPORTED_ERRORS);
  t.ok(result.body.error_count === 500_000, `error_count ${result.body.error_count}`);
  t.match(result.body.errors[0], { location: 'body', field: /^snapshot\.findings\[0\]/ });
  t.match(result.body.detail, /500000 invalid entries in all; the first 100 problems are listed/);
  t.ok(slowestMs < HEALTH_BOUND_MS, `/healthz answered within ${Math.round(slowestMs)} ms during validation`);
  t.same(await api.app.db('collection_runs').count('* as n').first(), runs, 'nothing stored');
});
