/**
 * Issue 13: one request cannot stop the service. Each heavy request of the issue is sent to a
 * service listening on a real port while /healthz is probed; the event loop must stay free (the
 * issue's figure is 100 ms; the bound here is generous because CI machines are shared; the figure
 * itself, for each heavy request of the issue, is printed by `npm run bench:healthz`) and the
 * request must get a 4xx problem, never a 500 or a hang.
 */
import t, { type Test } from 'tap';
import { loadDemoData } from '../../src/demo/load.js';
import { MAX_BATCH_COLUMNS } from '../../src/access/decisions.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { slowestHealthProbe } from '../helpers/hostile.js';

const HEALTH_BOUND_MS = 2_000;
const MARKET = 'arn:aws:iam::111122223333:role/market-data';

async function listening(t: Test) {
  const api = await testApp(t);
  const address = await api.app.listen({ port: 0, host: '127.0.0.1' });
  return { api, address };
}

function post(address: string, api: TestApp, url: string, body: string, role: keyof TestApp['keys'] = 'pipeline', type = 'application/json') {
  return fetch(`${address}${url}`, { method: 'POST', headers: { authorization: `Bearer ${api.keys[role]}`, 'content-type': type }, body }).then(async (r) => ({
    status: r.status,
    type: r.headers.get('content-type') ?? '',
    body: await r.json().catch(() => null),
  }));
}

const check = (columns: string[]) => ({ principal: MARKET, action: 'select', resource: { store: 'aurora', database: 'wealth', table: 'securities_master', columns }, purpose: 'pricing' });
const columns = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);

t.test('access batches: work is bounded, evaluated off the event loop', async (t) => {
  const { api, address } = await listening(t);
  await loadDemoData(api.app.db);
  await api.call('POST', '/v1/principals', { as: 'steward', body: { arn: MARKET, name: 'market-data', kind: 'service', team: 'investments' } });

  // The request: 1,000 checks × 1,000 columns. Refused before any evaluation.
  const huge = JSON.stringify({ checks: Array.from({ length: 1000 }, () => check(columns(1000))) });
  const refused = await slowestHealthProbe(address, post(address, api, '/v1/access/decisions:batch', huge));
  t.ok([400, 413].includes(refused.result.status), `1,000 × 1,000 columns: ${refused.result.status}`);
  t.match(refused.result.type, /application\/problem\+json/);
  t.ok(refused.slowestMs < HEALTH_BOUND_MS, `/healthz answered within ${Math.round(refused.slowestMs)} ms during it`);

  // Just above the bound: a 400 naming the check where the bound is crossed.
  const over = await post(address, api, '/v1/access/decisions:batch', JSON.stringify({ checks: Array.from({ length: 1000 }, () => check(columns(11))) }));
  t.equal(over.status, 400);
  const crossing = Math.floor(MAX_BATCH_COLUMNS / 11);
  t.match(over.body, { type: /validation-error/, errors: [{ field: `checks[${crossing}].resource.columns` }] });

  // At the bound: answered (unknown columns are denied), with /healthz free all along.
  const atBound = JSON.stringify({ checks: Array.from({ length: 1000 }, () => check(columns(MAX_BATCH_COLUMNS / 1000))) });
  const heavy = await slowestHealthProbe(address, post(address, api, '/v1/access/decisions:batch', atBound));
  t.equal(heavy.result.status, 200);
  t.equal(heavy.result.body.results.length, 1000);
  t.ok(heavy.result.body.results.every((r: { decision: string }) => r.decision === 'deny'), 'unknown columns are denied');
  t.ok(heavy.slowestMs < HEALTH_BOUND_MS, `/healthz answered within ${Math.round(heavy.slowestMs)} ms (${heavy.probes} probes) during 10,000 column checks`);
});
