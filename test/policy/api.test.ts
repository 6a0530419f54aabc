import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { ADMIN_KEY, approvePending, tempDir, testApp, type TestApp } from '../helpers/app.js';
import { SHIPPED, shippedAsRevision } from '../helpers/bundles.js';
import { ESTATE, EXPECTED } from './fixtures.js';
import { download } from '../helpers/zip.js';

const upload = (api: TestApp, archive: Buffer, as: 'admin' | 'compliance_officer' = 'compliance_officer') =>
  api.call('POST', '/v1/policy-bundles', { as, body: archive, headers: { 'content-type': 'application/gzip' } });
const decide = (api: TestApp, input: unknown, as: 'pipeline' | 'admin' = 'pipeline') =>
  api.call('POST', '/v1/decisions', { as, body: { entrypoint: 'custos/compliance/violations', input } });

t.test('the shipped bundle is stored and active on first start', async (t) => {
  const api = await testApp(t);
  const bundles = await api.call('GET', '/v1/policy-bundles', { as: 'auditor' });
  t.equal(bundles.body.items.length, 1);
  const [shipped] = bundles.body.items;
  t.match(shipped, { active: true, uploaded_by: 'system:bootstrap', rule_count: 42, entrypoints: ['custos/access/decision', 'custos/compliance/account_violations', 'custos/compliance/catalog_violations', 'custos/compliance/global_violations', 'custos/compliance/resource_violations', 'custos/compliance/rules', 'custos/compliance/violations'] });
  t.equal(shipped.sha256, createHash('sha256').update(await fs.readFile(SHIPPED)).digest('hex'));

  // The archive downloads byte for byte as stored (the shipped file), matching its recorded SHA-256.
  const archive = await download(api, `/v1/policy-bundles/${shipped.id}/archive`);
  t.equal(archive.headers['content-type'], 'application/gzip');
  const stored: Buffer = (await api.app.db('policy_bundles').where({ id: shipped.id }).first('archive')).archive;
  t.ok(stored.length > 0 && archive.bytes.length === stored.length, `${archive.bytes.length} bytes downloaded, ${stored.length} stored`);
  t.ok(archive.bytes.equals(stored), 'the same bytes as the archive stored in the database');
  t.ok(archive.bytes.equals(await fs.readFile(SHIPPED)), 'which is the shipped file');
  t.equal(createHash('sha256').update(archive.bytes).digest('hex'), shipped.sha256);

  const policies = await api.call('GET', '/v1/policies?control=CC6.6', { as: 'steward' });
  t.equal(policies.body.bundle_revision, shipped.revision);
  t.same(policies.body.items.map((r: { id: string }) => r.id), ['s3.account_public_access_block', 's3.bucket_public_read', 's3.bucket_public_write']);
  t.match(policies.body.items[1], { title: 'S3 bucket allows public read', severity: 'critical', controls: ['CC6.1', 'CC6.6'], resource_types: ['AWS::S3::Bucket'] });
  // What a reviewer needs to trust a verdict: where a rule concludes from absence, and what it reads.
  t.match(policies.body.items[0], { id: 's3.account_public_access_block', listing_scope: 'account', scope: 'resource', reads: ['coverage'] });
  t.match((await api.call('GET', '/v1/policies/cloudtrail.multi_region_validation', { as: 'auditor' })).body, { listing_scope: 'account_regions', listed_types: Array });
  const sla = (await api.call('GET', '/v1/policies/securityhub.finding_sla', { as: 'auditor' })).body;
  t.match(sla, { scope: 'resource' });
  t.same(sla.reads, [], 'the SLA rule reads nothing shared: its violations say when they begin (violates_after)');

  const ready = await api.call('GET', '/readyz', { as: null });
  t.match(ready.body.checks, { policy: { ok: true } });
});

t.test('decisions are explained and logged with the revision that made them', async (t) => {
  const api = await testApp(t);
  const decision = await decide(api, ESTATE);
  t.equal(decision.status, 200);
  t.match(decision.body, { entrypoint: 'custos/compliance/violations', defined: true, bundle_revision: /^rego-/ });
  t.same(decision.body.result.map((v: any) => [v.id, v.resource.id]).sort(), EXPECTED);

  const logged = await api.call('GET', `/v1/decisions/${decision.body.decision_id}`, { as: 'auditor' });
  t.equal(logged.status, 200);
  t.match(logged.body, { actor: 'test-pipeline', role: 'pipeline', bundle_revision: decision.body.bundle_revision, defined: true, error: null });
  t.same(logged.body.input, ESTATE);
  t.same(logged.body.result, decision.body.result);

  const unknown = await api.call('POST', '/v1/decisions', { as: 'pipeline', body: { entrypoint: 'custos/nope', input: {} } });
  t.equal(unknown.status, 400);
  t.match(unknown.body.errors, [{ field: 'entrypoint', message: 'must be one of: custos/access/decision, custos/compliance/account_violations, custos/compliance/catalog_violations, custos/compliance/global_violations, custos/compliance/resource_violations, custos/compliance/rules, custos/compliance/violations' }]);
  t.equal((await api.call('POST', '/v1/decisions', { as: 'auditor', body: { entrypoint: 'custos/compliance/rules' } })).status, 403);

  await t.rejects(api.app.db('decision_log').update({ actor: 'mallory' }), /decision_log is append-only/);
  const list = await api.call('GET', `/v1/decisions?bundle_revision=${decision.body.bundle_revision}`, { as: 'compliance_officer' });
  t.equal(list.body.items.length, 1);
});

t.test('upload, activate, roll back: each decision names its revision', async (t) => {
  const api = await testApp(t);
  const first = (await api.call('GET', '/v1/policy-bundles?active=true')).body.items[0];

  t.equal((await api.call('POST', '/v1/policy-bundles', { as: 'compliance_officer', body: { not: 'a bundle' } })).status, 415);
  const garbage = await upload(api, Buffer.from('definitely not gzip'));
  t.equal(garbage.status, 400);
  t.match(garbage.body, { type: '/problems/invalid-bundle', detail: /not a gzipped tar archive/ });
  const broken = await upload(api, await shippedAsRevision('broken', (files) => files.set('/policy.wasm', Buffer.from('nope'))));
  t.equal(broken.status, 400);
  t.match(broken.body.detail, /policy.wasm could not be loaded/);
  t.equal((await api.app.db('policy_bundles').count('* as n').first())!.n, 1, 'refused bundles are not stored');

  const again = await upload(api, await fs.readFile(SHIPPED));
  t.equal(again.status, 200, 'uploading a stored bundle again is idempotent');
  t.equal(again.body.id, first.id);

  const second = await upload(api, await shippedAsRevision('release-2'));
  t.equal(second.status, 201);
  t.match(second.body, { revision: 'release-2', active: false, rule_count: 42 });
  t.equal((await decide(api, ESTATE)).body.bundle_revision, first.revision, 'uploading does not activate');

  // Activation is a pending change (four-eyes): a second person approves it (test/security/four-eyes.test.ts).
  const proposed = await api.call('POST', `/v1/policy-bundles/${second.body.id}/activate`, { as: 'compliance_officer' });
  t.equal(proposed.status, 202);
  t.equal((await decide(api, ESTATE)).body.bundle_revision, first.revision, 'proposing does not activate');
  await approvePending(api, proposed);
  const activated = await api.call('GET', `/v1/policy-bundles/${second.body.id}`);
  t.match(activated.body, { active: true, activated_by: 'bootstrap-admin' });
  const afterActivation = await decide(api, ESTATE);
  t.equal(afterActivation.body.bundle_revision, 'release-2');

  const rolledBack = await api.call('POST', `/v1/policy-bundles/${first.id}/activate`, { as: 'admin' });
  t.equal(rolledBack.status, 202, 'going back to an earlier bundle is an activation too');
  await approvePending(api, rolledBack, { as: 'compliance_officer' });
  const afterRollback = await decide(api, ESTATE);
  t.equal(afterRollback.body.bundle_revision, first.revision);
  t.equal((await api.call('POST', `/v1/policy-bundles/${first.id}/activate`)).status, 200, 'activating the active bundle is a no-op');

  const log = await api.call('GET', '/v1/decisions', { as: 'auditor' });
  t.same(log.body.items.slice(0, 2).map((d: any) => d.bundle_revision), [first.revision, 'release-2'], 'the log shows which revision decided');
  const bundles = await api.call('GET', '/v1/policy-bundles');
  t.same(bundles.body.items.filter((b: any) => b.active).map((b: any) => b.id), [first.id], 'exactly one active');

  const audit = await api.call('GET', '/v1/audit-log?entity=policy-bundles&action=activate', { as: 'auditor' });
  t.same(audit.body.items.map((e: any) => e.new_value.active_bundle_id), [first.id, second.body.id, first.id]);
  t.equal(audit.body.items[1].old_value.active_bundle_id, first.id);
  t.equal((await api.call('POST', '/v1/policy-bundles/01900000-0000-7000-8000-000000000000/activate')).status, 404);
});

t.test('every instance picks up an activation without a restart', async (t) => {
  const a = await testApp(t);
  // B polls only hourly: switching before that proves the notification reached it.
  const b = await buildApp({ config: { databaseUrl: a.databaseUrl, dataDir: await tempDir(), logLevel: 'silent', adminKey: ADMIN_KEY }, announce: () => {}, policyPollMs: 3_600_000 });
  t.teardown(() => b.close());
  const second = await upload(a, await shippedAsRevision('release-2'));
  await approvePending(a, await a.call('POST', `/v1/policy-bundles/${second.body.id}/activate`), { as: 'compliance_officer' });

  const started = Date.now();
  let revision = '';
  while (Date.now() - started < 15_000) {
    const response = await b.inject({ method: 'POST', url: '/v1/decisions', headers: { authorization: `Bearer ${ADMIN_KEY}` }, payload: { entrypoint: 'custos/compliance/rules', input: {} } });
    revision = response.json().bundle_revision;
    if (revision === 'release-2') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(revision, 'release-2', `instance B switched through LISTEN/NOTIFY (after ${Date.now() - started} ms)`);
});

t.test('fail closed: without a loadable bundle, decisions are refused, never guessed', async (t) => {
  const api = await testApp(t, { shippedBundle: null });
  const decision = await decide(api, ESTATE);
  t.equal(decision.status, 503);
  t.equal(decision.body.type, '/problems/policy-engine-unavailable');
  t.equal((await api.call('GET', '/v1/policies')).status, 503);
  const ready = await api.call('GET', '/readyz', { as: null });
  t.equal(ready.status, 503);
  t.match(ready.body.checks.policy, { ok: false, detail: 'no policy bundle is active' });
  t.equal((await api.app.db('decision_log').count('* as n').first())!.n, 0);

  // Once a bundle is uploaded and activated, the same instance serves decisions.
  const uploaded = await upload(api, await fs.readFile(SHIPPED));
  await approvePending(api, await api.call('POST', `/v1/policy-bundles/${uploaded.body.id}/activate`), { as: 'compliance_officer' });
  t.equal((await decide(api, ESTATE)).status, 200);
  t.equal((await api.call('GET', '/readyz', { as: null })).status, 200);
});
