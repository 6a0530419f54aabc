/**
 * Issue 13: a snapshot of 500,000 empty findings (1.5 MB) exhausted the heap and killed the
 * process; 100,000 gave a 500 (`push(...errors)` overflowed the stack). Now: a 400 listing the
 * first 100 problems with the count of all, nothing stored, and the event loop free meanwhile.
 */
import t, { type Test } from 'tap';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { LARGE_BODY } from '../../src/sources/snapshot-import.js';
import { MAX_REPORTED_ERRORS } from '../../src/sources/snapshot.js';
import { testApp } from '../helpers/app.js';
import { slowestHealthProbe } from '../helpers/hostile.js';

/**
 * The longest text JSON.parse is given on this thread (the event loop) while the test runs: a large
 * import must be parsed in the import thread (src/sources/snapshot-import.ts), which has a JSON of
 * its own. A time bound could not tell: on a loaded 2-CPU machine a free event loop waits for the CPU.
 */
function longestParsedOnLoop(t: Test): () => number {
  const parse = JSON.parse;
  let longest = 0;
  JSON.parse = (text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
    longest = Math.max(longest, String(text).length);
    return parse(text, reviver);
  };
  t.teardown(() => {
    JSON.parse = parse;
  });
  return () => longest;
}

const HEALTH_BOUND_MS = 2_000;

t.test('500,000 empty findings: a 400 with the first 100 problems and the count', async (t) => {
  const api = await testApp(t);
  const address = await api.app.listen({ port: 0, host: '127.0.0.1' });
  const body = `{"source":"file","snapshot":{"resources":[],"lake_formation":{"permissions":[]},"findings":[${Array(500_000).fill('{}').join(',')}]}}`;
  t.ok(body.length < 2 * 1024 * 1024, `${body.length} bytes`);
  const runs = await api.app.db('collection_runs').count('* as n').first();
  const longest = longestParsedOnLoop(t);

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
  t.ok(longest() < LARGE_BODY, `the event loop parsed no large JSON (longest ${longest()} characters): the body was parsed and checked in the import thread`);
  t.same(await api.app.db('collection_runs').count('* as n').first(), runs, 'nothing stored');
});

t.test('a large valid snapshot is parsed, checked and prepared in the import thread, and stored whole', async (t) => {
  const api = await testApp(t);
  const [first] = wealthEstate.findings;
  const findings = Array.from({ length: 3_000 }, (_, i) => ({ ...first!, id: `${first!.id}/copy-${i}` }));
  const body = JSON.stringify({ source: 'file', snapshot: { ...wealthEstate, findings } });
  t.ok(body.length > LARGE_BODY, `${body.length} bytes: over ${LARGE_BODY}`);
  const longest = longestParsedOnLoop(t);
  const response = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body, headers: { 'content-type': 'application/json' } });
  t.equal(response.status, 201, JSON.stringify(response.body).slice(0, 300));
  t.ok(longest() < LARGE_BODY, `the event loop parsed no large JSON (longest ${longest()} characters)`);
  const counts = { resources: wealthEstate.resources.length, findings: 3_000, permissions: wealthEstate.lake_formation.permissions.length, settings: wealthEstate.settings?.length ?? 0 };
  t.match(response.body, { status: 'complete', trigger: 'file', counts: { file: counts } });
  const stored = await api.app.db('run_items').where({ run_id: response.body.id }).select('kind').count('* as n').groupBy('kind');
  t.same(Object.fromEntries(stored.map((r) => [r.kind, Number(r.n)])), { resource: counts.resources, finding: 3_000, permission: counts.permissions, ...(counts.settings ? { setting: counts.settings } : {}) }, 'every item stored');
  const coverage = await api.call('GET', `/v1/collections/${response.body.id}`, { as: 'auditor' });
  t.ok(coverage.body.coverage.some((c: { resource_type: string }) => c.resource_type === 'AWS::SecurityHub::Finding'), 'with its coverage');
  const observed = await api.app.db('collection_runs').where({ id: response.body.id }).first('observed_at');
  t.equal(new Date(observed.observed_at).toISOString(), new Date(wealthEstate.observed_at!).toISOString(), 'observed when the snapshot says');
});

t.test('a large body gets the answer a small one gets: depth, NUL, prototype keys, syntax, unknown fields, a snapshot not from a file', async (t) => {
  const api = await testApp(t);
  const snapshot = JSON.stringify({ resources: [], findings: [], lake_formation: { permissions: [] } });
  let nested = '1';
  for (let i = 0; i < 100; i++) nested = `{"a":${nested}}`;
  const cases: Array<[string, string]> = [
    ['too deep', `{"source":"file","snapshot":${nested}}`],
    ['NUL', `{"source":"file","snapshot":{"resources":[],"findings":[],"lake_formation":{"permissions":[]},"observed_at":"x\\u0000"}}`],
    ['__proto__', `{"source":"file","snapshot":{"__proto__":{"x":1},"resources":[],"findings":[],"lake_formation":{"permissions":[]}}}`],
    ['syntax', `{"source":"file","snapshot":${snapshot}`],
    ['unknown field', `{"source":"file","snapshot":${snapshot},"extra":true}`],
    ['snapshot without source file', `{"snapshot":${snapshot}}`],
    ['invalid snapshot', `{"source":"file","snapshot":{"resources":[{}],"findings":[],"lake_formation":{"permissions":[]}}}`],
  ];
  for (const [what, small] of cases) {
    const answer = async (body: string) => {
      const r = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body, headers: { 'content-type': 'application/json' } });
      return { status: r.status, type: r.body.type, errors: r.body.errors, error_count: r.body.error_count };
    };
    const inline = await answer(small);
    const large = await answer(small + ' '.repeat(LARGE_BODY));
    t.equal(inline.status, 400, `${what}: 400 (${inline.type})`);
    t.same(large, inline, `${what}: the same answer from the import thread`);
  }
  t.equal(Number((await api.app.db('collection_runs').count('* as n').first())!.n), 0, 'nothing stored');
});
