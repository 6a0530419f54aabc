import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { ADMIN_KEY, freshDatabaseUrl, tempDir, testApp } from '../helpers/app.js';

t.test('an empty database gets a generated admin key, announced once and saved 0600', async (t) => {
  const databaseUrl = await freshDatabaseUrl();
  const dataDir = await tempDir();
  const announced: string[] = [];
  const start = () => buildApp({ config: { databaseUrl, dataDir, logLevel: 'silent', adminKey: undefined }, announce: (m) => announced.push(m) });

  const first = await start();
  t.equal(announced.length, 1);
  const file = path.join(dataDir, 'admin-key');
  const key = (await fs.readFile(file, 'utf8')).trim();
  t.match(key, /^cus_[A-Za-z0-9_-]{43}$/);
  t.match(announced[0], key);
  t.equal((await fs.stat(file)).mode & 0o777, 0o600);
  const ok = await first.inject({ url: '/v1/api-keys', headers: { authorization: `Bearer ${key}` } });
  t.equal(ok.statusCode, 200);
  t.equal(ok.json().items[0].role, 'admin');
  await first.close();

  const second = await start();
  t.equal(announced.length, 1, 'a restart does not create another key');
  t.equal((await second.db('api_keys').count('* as n').first())!.n, 1);
  await second.close();
});

t.test('CUSTOS_ADMIN_KEY becomes the first admin key; keys are stored hashed', async (t) => {
  const api = await testApp(t);
  const rows = await api.app.db('api_keys').select('*');
  t.equal(rows.length, 5, 'bootstrap admin plus one key per other role');
  for (const row of rows) {
    t.notOk(Object.values(row).some((v) => typeof v === 'string' && Object.values(api.keys).includes(v)), 'no plaintext key stored');
  }
  const admin = rows.find((r) => r.name === 'bootstrap-admin');
  t.equal(admin.key_hash, createHash('sha256').update(ADMIN_KEY).digest('hex'));
});

t.test('creating, listing and revoking keys', async (t) => {
  const api = await testApp(t);
  const created = await api.call('POST', '/v1/api-keys', { body: { role: 'steward', name: 'alice' } });
  t.equal(created.status, 201);
  t.equal(created.headers['cache-control'], 'no-store');
  t.match(created.body, { role: 'steward', name: 'alice', key: /^cus_/ });
  t.equal(created.body.key_prefix, created.body.key.slice(0, 8));

  const listed = await api.call('GET', '/v1/api-keys?role=steward', { as: 'auditor' });
  t.equal(listed.status, 200);
  const alice = listed.body.items.find((k: { name: string }) => k.name === 'alice');
  t.ok(alice);
  t.notOk('key' in alice || 'key_hash' in alice, 'the key is shown only at creation');
  t.notOk(JSON.stringify(listed.body).includes(created.body.key));

  const duplicate = await api.call('POST', '/v1/api-keys', { body: { role: 'auditor', name: 'alice' } });
  t.equal(duplicate.status, 409);
  const badRole = await api.call('POST', '/v1/api-keys', { body: { role: 'root', name: 'x' } });
  t.equal(badRole.status, 400);
  t.match(badRole.body.errors, [{ field: 'role', message: /must be one of: admin, steward, compliance_officer, auditor, pipeline/ }]);

  t.equal((await api.call('GET', '/v1/domains', { key: created.body.key })).status, 200);
  t.equal((await api.call('DELETE', `/v1/api-keys/${created.body.id}`)).status, 204);
  const revoked = await api.call('GET', '/v1/domains', { key: created.body.key });
  t.equal(revoked.status, 401, 'a revoked key stops working at once');
  t.equal((await api.call('DELETE', `/v1/api-keys/${created.body.id}`)).status, 204, 'revoking again is harmless');
  t.equal((await api.call('DELETE', '/v1/api-keys/01900000-0000-7000-8000-000000000000')).status, 404);
  const withRevoked = await api.call('GET', '/v1/api-keys?include_revoked=true');
  t.match(withRevoked.body.items.find((k: { id: string }) => k.id === created.body.id), { revoked_by: 'bootstrap-admin', revoked_at: String });

  // A name can be reused once its key is revoked.
  t.equal((await api.call('POST', '/v1/api-keys', { body: { role: 'steward', name: 'alice' } })).status, 201);
});

t.test('the last active admin key cannot be revoked', async (t) => {
  const api = await testApp(t);
  const [bootstrap] = await api.app.db('api_keys').where({ name: 'bootstrap-admin' });
  const second = await api.call('POST', '/v1/api-keys', { body: { role: 'admin', name: 'second-admin' } });
  t.equal((await api.call('DELETE', `/v1/api-keys/${bootstrap.id}`, { key: second.body.key })).status, 204);
  const last = await api.call('DELETE', `/v1/api-keys/${second.body.id}`, { key: second.body.key });
  t.equal(last.status, 409);
  t.match(last.body.detail, /last active admin key/);
  t.equal((await api.call('GET', '/v1/api-keys', { key: second.body.key })).status, 200);
});

t.test('401 for missing, malformed and unknown keys', async (t) => {
  const api = await testApp(t);
  const missing = await api.call('GET', '/v1/assets', { as: null });
  t.equal(missing.status, 401);
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="custos"');
  t.equal(missing.body.type, '/problems/unauthorized');
  t.equal((await api.call('GET', '/v1/assets', { as: null, headers: { authorization: `Basic ${ADMIN_KEY}` } })).status, 401);
  t.equal((await api.call('GET', '/v1/assets', { key: 'cus_not-a-real-key-at-all-000000' })).status, 401);
  t.equal((await api.call('GET', '/v1/assets', { as: null, headers: { authorization: 'Bearer ' } })).status, 401);
});
