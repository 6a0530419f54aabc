/**
 * Issue 13: one bad value must not harm other callers. A `\u0000` in one decision's context failed
 * the shared group commit of 180 of 200 concurrent decisions; JSON nested 6,000 deep gave a 500; with
 * PostgreSQL down, authentication gave a 500.
 */
import net from 'node:net';
import t from 'tap';
import { loadDemoData } from '../../src/demo/load.js';
import { ADMIN_KEY, freshDatabaseUrl, testApp, tempDir } from '../helpers/app.js';
import { buildApp } from '../../src/app.js';

const MARKET = 'arn:aws:iam::111122223333:role/market-data';
const check = (extra: Record<string, unknown> = {}) => ({ principal: MARKET, action: 'select', resource: { store: 'aurora', database: 'wealth', table: 'securities_master' }, purpose: 'pricing', ...extra });

t.test('a NUL in one decision is refused naming the field; 200 concurrent decisions are all logged', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  await api.call('POST', '/v1/principals', { as: 'steward', body: { arn: MARKET, name: 'market-data', kind: 'service', team: 'investments' } });
  await api.app.policy.reloadAccessData();

  const poisoned = JSON.stringify(check({ context: { note: 'a\u0000b' } }));
  t.match(poisoned, /\\u0000/, 'the body carries the escape');
  const [bad, ...others] = await Promise.all([
    api.app.inject({ method: 'POST', url: '/v1/access/decisions', headers: { authorization: `Bearer ${api.keys.pipeline}`, 'content-type': 'application/json' }, payload: poisoned }),
    ...Array.from({ length: 200 }, () => api.call('POST', '/v1/access/decisions', { as: 'pipeline', body: check() })),
  ]);
  t.equal(bad!.statusCode, 400);
  t.match(bad!.headers['content-type'], /application\/problem\+json/);
  t.match(bad!.json(), { type: '/problems/validation-error', errors: [{ location: 'body', field: 'context.note', message: /NUL/ }] });
  t.equal(others.filter((r) => r.status === 200 && r.body.decision === 'allow' && typeof r.body.decision_id === 'string').length, 200, 'every other caller got its logged decision');

  // Anywhere in any JSON body, and in a key: named, never a 500.
  const inKey = await api.app.inject({ method: 'POST', url: '/v1/domains', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, payload: '{"name":"x","owner":"o","steward":"s","review_frequency":"quarterly","extra":{"k\\u0000":1}}' });
  t.equal(inKey.statusCode, 400);
  t.match(inKey.json(), { errors: [{ field: 'extra.k\u0000' }] });
  const escaped = await api.app.inject({ method: 'POST', url: '/v1/decisions', headers: { authorization: `Bearer ${api.keys.pipeline}`, 'content-type': 'application/json' }, payload: '{"entrypoint":"custos/compliance/rules","input":{"text":"\\\\u0000 is only text here"}}' });
  t.equal(escaped.statusCode, 200, 'an escaped backslash followed by u0000 is not NUL');
  const query = await api.call('GET', '/v1/domains?name=%00');
  t.ok(query.status < 500, `NUL in a query string: ${query.status}`);
});

t.test('JSON nested 6,000 levels deep: 400 before anything recurses over it', async (t) => {
  const api = await testApp(t);
  const deep = (n: number) => `{"entrypoint":"custos/compliance/rules","input":${'['.repeat(n)}${']'.repeat(n)}}`;
  for (const url of ['/v1/decisions', '/v1/access/decisions', '/v1/collections']) {
    const response = await api.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${api.keys.admin}`, 'content-type': 'application/json' }, payload: deep(6000) });
    t.equal(response.statusCode, 400, url);
    t.match(response.json(), { type: '/problems/malformed-body', detail: /nested deeper than 64 levels/ });
  }
  const fine = await api.app.inject({ method: 'POST', url: '/v1/decisions', headers: { authorization: `Bearer ${api.keys.pipeline}`, 'content-type': 'application/json' }, payload: deep(30) });
  t.equal(fine.statusCode, 200, '30 levels are fine');
});

t.test('PostgreSQL unreachable: authentication answers 503, not 500', async (t) => {
  // The service reaches PostgreSQL through a TCP relay that the test cuts.
  const target = new URL(await freshDatabaseUrl());
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const via = new URL(target);
  via.port = String((relay.address() as net.AddressInfo).port);
  const app = await buildApp({ config: { databaseUrl: via.toString(), dataDir: await tempDir(), logLevel: 'silent', adminKey: ADMIN_KEY }, announce: () => {}, workers: false });
  t.teardown(async () => {
    await app.close().catch(() => {});
    relay.close();
  });
  t.equal((await app.inject({ method: 'GET', url: '/v1/domains', headers: { authorization: `Bearer ${ADMIN_KEY}` } })).statusCode, 200);

  relay.close();
  for (const s of sockets) s.destroy();
  const response = await app.inject({ method: 'GET', url: '/v1/domains', headers: { authorization: 'Bearer cus_not_a_cached_key_0123456789' } });
  t.equal(response.statusCode, 503);
  t.match(response.json(), { type: '/problems/database-unavailable' });
});
