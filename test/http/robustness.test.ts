import t from 'tap';
import { loadDemoData } from '../../src/demo/load.js';
import { testApp } from '../helpers/app.js';

// No input yields a 500: junk bodies, and every documented field set to hostile values, sent to
// every documented write route. Each answer must be a problem (4xx) or a success.
const JUNK_BODIES: unknown[] = [null, [], 'text', 42, true, {}, { ['__proto__']: { admin: true } }, JSON.parse('{"constructor":{"prototype":{"x":1}}}')];
const HOSTILE_VALUES: unknown[] = [null, '', '\u0000', 'a\u0000b', -1, 1e308, 3.5, [], {}, '💥'.repeat(300), true, 'x'.repeat(70_000), [{ nested: [[[]]] }]];

let nested: Record<string, unknown> = {};
for (let i = 0; i < 2000; i++) nested = { a: nested };

t.test('hostile input never causes a 500', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  const spec = api.app.swagger() as { paths: Record<string, Record<string, any>> };

  // A real entity per resource, so PATCH reaches the repositories and a valid POST body exists.
  const samples = new Map<string, Record<string, unknown>>();
  for (const path of Object.keys(spec.paths)) {
    if (!spec.paths[path]!.get || path.includes('{') || path === '/healthz' || path === '/readyz') continue;
    const list = await api.call('GET', path);
    if (list.body.items?.[0]) samples.set(path, list.body.items[0]);
  }
  const clients = (await api.call('GET', '/v1/assets?table=clients')).body.items[0];
  // Key routes act on a key of their own: rotating the caller's key would turn every later request into a 401.
  samples.set('/v1/api-keys', (await api.call('POST', '/v1/api-keys', { body: { name: 'fuzz-target', role: 'auditor' } })).body);

  let requests = 0;
  const statuses = new Map<number, number>();
  for (const [path, operations] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!['post', 'patch'].includes(method)) continue;
      const base = path.replace(/\/\{id\}.*$/, '');
      const sample = samples.get(base) ?? {};
      const url = path.replace('{id}', String(path.startsWith('/v1/assets/') ? clients.id : (sample.id ?? '01900000-0000-7000-8000-000000000000'))).replace('{column}', 'ssn');
      const properties: Record<string, unknown> = operation.requestBody?.content?.['application/json']?.schema?.properties ?? {};
      const valid = Object.fromEntries(Object.entries(sample).filter(([key]) => key in properties));
      const bodies = [...JUNK_BODIES, nested];
      for (const field of Object.keys(properties)) {
        for (const value of HOSTILE_VALUES) bodies.push({ ...valid, [field]: value });
      }
      for (const body of bodies) {
        const response = await api.call(method.toUpperCase(), url, { body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'if-match': '*' } });
        requests++;
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status >= 500) t.fail(`${method.toUpperCase()} ${url} with ${JSON.stringify(body).slice(0, 120)} → ${response.status} ${JSON.stringify(response.body)}`);
        if (response.status >= 400) t.match(response.headers['content-type'], /^application\/problem\+json/);
      }
    }
  }
  t.ok(requests > 500, `${requests} requests sent`);
  t.ok(statuses.get(400)! > requests / 2, 'most are refused as invalid');
  t.ok((statuses.get(401) ?? 0) === 0, 'the caller stays signed in throughout');
  t.comment(JSON.stringify(Object.fromEntries(statuses)));
});

t.test('hostile query strings never cause a 500', async (t) => {
  const api = await testApp(t);
  const spec = api.app.swagger() as { paths: Record<string, Record<string, any>> };
  const cursors = ['', 'x', Buffer.from('["not-a-uuid"]').toString('base64url'), Buffer.from('[1,2,3]').toString('base64url'), Buffer.from('{"a":1}').toString('base64url'), '%00'];
  for (const [path, operations] of Object.entries(spec.paths)) {
    if (!operations.get || path.includes('{')) continue;
    for (const cursor of cursors) {
      const response = await api.call('GET', `${path}?cursor=${cursor}&limit=2`);
      t.ok(response.status < 500, `${path}?cursor=${cursor} → ${response.status}`);
    }
    for (const query of ['limit=-1', 'limit=abc', 'limit=99999', 'from=%00', 'entity_id=%00', 'name=%00', 'table=%00']) {
      const response = await api.call('GET', `${path}?${query}`);
      t.ok(response.status < 500, `${path}?${query} → ${response.status}`);
    }
  }
});
