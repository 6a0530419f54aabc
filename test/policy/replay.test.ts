import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { v7 as uuidv7 } from 'uuid';
import { approvePending, create, evaluateSnapshot, tempDir, testApp, type TestApp } from '../helpers/app.js';
import { IN_CI, opaBinary, shippedAsRevision } from '../helpers/bundles.js';
import { ENTRYPOINTS } from '../../src/policy/entrypoints.js';
import { ESTATE } from './fixtures.js';

// Issue 11, reproduction 8: decision replay and the impact of a bundle before it is activated.

const ETL = 'arn:aws:iam::111122223333:role/wealth-etl';

const upload = async (api: TestApp, archive: Buffer) => {
  const response = await api.call('POST', '/v1/policy-bundles', { as: 'compliance_officer', body: archive, headers: { 'content-type': 'application/gzip' } });
  if (![200, 201].includes(response.status)) throw new Error(`upload → ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as { id: string; revision: string; rules: Array<{ id: string }> };
};
const replay = (api: TestApp, id: string, as: 'admin' | 'steward' | 'compliance_officer' | 'auditor' | 'pipeline') =>
  api.call('POST', `/v1/decisions/${id}/replay`, { as, body: {} });
const impact = (api: TestApp, id: string, body: unknown = {}) => api.call('POST', `/v1/policy-bundles/${id}/impact`, { as: 'compliance_officer', body });

/** A table of the `wealth` domain: a public id and segment, a restricted SSN; the ETL role is a registered principal without grants. */
async function estate(api: TestApp) {
  await create(api, '/v1/domains', { name: 'wealth', owner: 'owner@bank.example', steward: 'steward@bank.example', review_frequency: 'quarterly' });
  await create(api, '/v1/assets', {
    store: 'glue',
    database: 'wealth',
    table: 'clients',
    domain: 'wealth',
    columns: [
      { name: 'client_id', data_type: 'string', classification: 'public' },
      { name: 'segment', data_type: 'string', classification: 'public' },
      { name: 'ssn', data_type: 'string', classification: 'restricted', pii_type: 'ssn', masking_rule: 'ssn_last4' },
    ],
  });
  await create(api, '/v1/principals', { arn: ETL, name: 'wealth-etl', kind: 'pipeline', team: 'data' }, 'steward');
  // The catalog reaches the engines within a second of a change (LISTEN/NOTIFY).
  await api.app.policy.reloadAccessData();
}

async function accessDecision(api: TestApp, columns: string[], purpose = 'reporting') {
  const response = await api.call('POST', '/v1/access/decisions', {
    as: 'pipeline',
    body: { principal: ETL, action: 'select', resource: { store: 'glue', database: 'wealth', table: 'clients', columns }, purpose },
  });
  if (response.status !== 200 || !response.body.decision_id) throw new Error(`access decision → ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as { decision_id: string; decision: string; obligations: { mask: Record<string, unknown> } };
}

async function policyDecision(api: TestApp, entrypoint: string, input: unknown) {
  const response = await api.call('POST', '/v1/decisions', { as: 'pipeline', body: { entrypoint, input } });
  if (response.status !== 200) throw new Error(`decision → ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as { decision_id: string; result: unknown };
}

const api = await testApp(t);
await estate(api);
// About a PII column (denied: no grant covers it); about public columns only, for two purposes.
const pii = await accessDecision(api, ['client_id', 'ssn']);
const plain = await accessDecision(api, ['client_id', 'segment']);
const audit = await accessDecision(api, ['segment'], 'audit');
const compliance = await policyDecision(api, 'custos/compliance/violations', ESTATE);
const rules = await policyDecision(api, 'custos/compliance/rules', {});

t.test('a decision replayed under the bundle that made it, still active: changed=false', async (t) => {
  t.match(pii, { decision: 'deny' });
  t.match(plain, { decision: 'allow' });
  const again = await replay(api, compliance.decision_id, 'auditor');
  t.equal(again.status, 200, JSON.stringify(again.body));
  t.match(again.body, { decision_id: compliance.decision_id, entrypoint: 'custos/compliance/violations', changed: false, reproduces_log: true, differences: [], differences_truncated: false });
  t.equal(again.body.original.bundle_id, again.body.current.bundle_id);
  t.same(again.body.original.result, compliance.result, 'the original bundle gives the logged answer');
  t.same(again.body.current.result, compliance.result);

  const access = await replay(api, pii.decision_id, 'auditor');
  t.equal(access.status, 200);
  t.match(access.body, { changed: false, reproduces_log: true, original: { result: { decision: 'deny' } }, current: { result: { decision: 'deny' } } });
  t.match(access.body.data, /catalog, principals and grants as they are now/);
  t.same(access.body.pii, { carries_pii: true, reasons: ['column glue/wealth/clients.ssn has PII type ssn'] });
});

t.test('logged inputs that carry PII are replayed only for admins and auditors', async (t) => {
  for (const role of ['steward', 'compliance_officer'] as const) {
    const refused = await replay(api, pii.decision_id, role);
    t.equal(refused.status, 403, `${role} may not replay a decision about a PII column`);
    t.match(refused.body, { type: '/problems/forbidden', detail: /carries PII \(.*ssn has PII type ssn.*\); only admins and auditors/ });
  }
  t.equal((await replay(api, pii.decision_id, 'admin')).status, 200);
  // The compliance input holds the catalog, with its restricted columns and PII types.
  const estateInput = await replay(api, compliance.decision_id, 'steward');
  t.equal(estateInput.status, 403);
  t.match(estateInput.body.detail, /PII type/);
  t.equal((await replay(api, compliance.decision_id, 'pipeline')).status, 403, 'pipelines replay nothing');

  // Without PII (public columns; the rules listing), a steward may replay.
  const internal = await replay(api, plain.decision_id, 'steward');
  t.equal(internal.status, 200, JSON.stringify(internal.body));
  t.match(internal.body, { changed: false, pii: { carries_pii: false, reasons: [] } });
  t.match(await replay(api, rules.decision_id, 'steward'), { status: 200, body: { changed: false } });

  // A context is free-form, so a decision that carried one is treated as carrying PII.
  const withContext = await api.call('POST', '/v1/access/decisions', {
    as: 'pipeline',
    body: { principal: ETL, action: 'select', resource: { store: 'glue', database: 'wealth', table: 'clients', columns: ['segment'] }, purpose: 'reporting', context: { client: 'Jane Doe' } },
  });
  t.match(await replay(api, withContext.body.decision_id, 'steward'), { status: 403, body: { detail: /context is free-form/ } });

  // A person as principal; a free-form input holding an e-mail address.
  const person = 'arn:aws:iam::111122223333:user/jane.doe';
  await create(api, '/v1/principals', { arn: person, name: 'jane.doe', kind: 'user', team: 'advisors' }, 'steward');
  await api.app.policy.reloadAccessData();
  const byPerson = await api.call('POST', '/v1/access/decisions', {
    as: 'pipeline',
    body: { principal: person, action: 'select', resource: { store: 'glue', database: 'wealth', table: 'clients', columns: ['segment'] }, purpose: 'reporting' },
  });
  t.match(await replay(api, byPerson.body.decision_id, 'steward'), { status: 403, body: { detail: /principal is a person/ } });
  const email = await policyDecision(api, 'custos/compliance/rules', { contact: { email: 'jane.doe@bank.example' } });
  t.match(await replay(api, email.decision_id, 'steward'), { status: 403, body: { detail: /input.contact.email looks like an e-mail address/ } });
  t.match(await replay(api, email.decision_id, 'auditor'), { status: 200, body: { changed: false, pii: { carries_pii: true } } });
  t.equal((await replay(api, '01900000-0000-7000-8000-000000000000', 'admin')).status, 404);
});

t.test('not replayable: said so, never pretended', async (t) => {
  const bundle = (await api.app.db('policy_bundles').where({ active: true }).first('id', 'revision'))!;
  const row = { entrypoint: 'custos/access/decision', defined: true, error: null, actor: 'test-pipeline', actor_key_id: null, role: 'pipeline', request_id: null, duration_ms: 1 };
  // An access decision logged without its `now`: grant expiry cannot be judged as it was.
  const noNow = uuidv7();
  await api.app.db('decision_log').insert({
    ...row,
    id: noNow,
    input: JSON.stringify({ principal: ETL, action: 'select', resource: { store: 'glue', database: 'wealth', table: 'clients', columns: ['segment'] }, purpose: 'reporting' }),
    result: JSON.stringify({ decision: 'allow', reasons: [], obligations: { mask: {} }, grants: [] }),
    bundle_id: bundle.id,
    bundle_revision: bundle.revision,
  });
  const incomplete = await replay(api, noNow, 'admin');
  t.equal(incomplete.status, 422);
  t.match(incomplete.body, { type: '/problems/not-replayable', detail: /has no `now`/ });

  // A decision naming a revision that is no longer stored (and no bundle id).
  const gone = uuidv7();
  await api.app.db('decision_log').insert({ ...row, id: gone, entrypoint: 'custos/compliance/rules', input: '{}', result: '[]', bundle_id: null, bundle_revision: 'rego-0000000000000000' });
  const missing = await replay(api, gone, 'admin');
  t.equal(missing.status, 422);
  t.match(missing.body.detail, /the bundle it was made with \(rego-0000000000000000\) is no longer stored/);
});

t.test('a decision made while no bundle was loaded cannot be replayed', async (t) => {
  const bare = await testApp(t, { shippedBundle: null });
  const denied = await bare.call('POST', '/v1/access/decisions', {
    as: 'pipeline',
    body: { principal: ETL, action: 'select', resource: { store: 'glue', database: 'wealth', table: 'clients', columns: ['segment'] }, purpose: 'reporting' },
  });
  t.match(denied.body, { decision: 'deny', reasons: [{ code: 'engine_unavailable' }] });
  const replayed = await bare.call('POST', `/v1/decisions/${denied.body.decision_id}/replay`, { as: 'admin', body: {} });
  t.equal(replayed.status, 422);
  t.match(replayed.body, { type: '/problems/not-replayable', detail: /made while no policy bundle was loaded/ });
});

t.test('fail closed: when the engine cannot answer, a replay is a 503, never a result', async (t) => {
  // A 1 ms budget: every message of decisions overruns and its thread is replaced (each replacement
  // starts a thread, which is slow under the test loader: this test keeps them few).
  const slow = await testApp(t, { config: { policyBudgetMs: 1 } });
  await estate(slow);
  const denied = await slow.call('POST', '/v1/access/decisions', {
    as: 'pipeline',
    body: { principal: ETL, action: 'select', resource: { store: 'glue', database: 'wealth', table: 'clients', columns: ['segment'] }, purpose: 'reporting' },
  });
  t.match(denied.body, { decision: 'deny', reasons: [{ code: 'evaluation_failed' }] });
  const replayed = await slow.call('POST', `/v1/decisions/${denied.body.decision_id}/replay`, { as: 'admin', body: {} });
  t.equal(replayed.status, 503, 'no result is guessed');
  t.match(replayed.body, { type: '/problems/policy-evaluation-failed', detail: /could not evaluate decision/ });
});

t.test('impact without a complete collection run: findings not_tested, decisions still compared', async (t) => {
  const candidate = await upload(api, await shippedAsRevision('release-2'));
  const result = await impact(api, candidate.id, { decisions: 50 });
  t.equal(result.status, 200, JSON.stringify(result.body));
  t.match(result.body.findings, { status: 'not_tested', reason: /no collection run has completed/, collection_id: null, counts: { would_appear: 0, would_disappear: 0 } });
  t.match(result.body.bundle, { id: candidate.id, revision: 'release-2' });
  const { decisions } = result.body;
  const logged = Number((await api.app.db('decision_log').count('* as n').first())!.n);
  t.ok(decisions.evaluated >= 5, `the logged decisions were evaluated (${decisions.evaluated})`);
  t.equal(decisions.evaluated + decisions.counts.skipped, logged, 'every logged decision was read: evaluated or skipped');
  t.match(decisions.counts, { flipped: 0, changed: 0, failed: 0 });
  t.equal(decisions.counts.unchanged, decisions.evaluated, 'the same policy under another revision flips nothing');
  t.ok(decisions.skipped.length >= 1, 'the decision logged without `now` is skipped, with why');
  t.match(decisions.skipped[0].reason, /has no `now`/);

  const active = (await api.app.db('policy_bundles').where({ active: true }).first('id'))!;
  t.match(await impact(api, active.id), { status: 409, body: { type: '/problems/conflict', detail: /is the active bundle/ } });
  const tooMany = await impact(api, candidate.id, { decisions: 10_001 });
  t.equal(tooMany.status, 400);
  t.match(tooMany.body.errors, [{ field: 'decisions' }]);
  t.equal((await impact(api, '01900000-0000-7000-8000-000000000000')).status, 404);
  t.equal((await api.call('POST', `/v1/policy-bundles/${candidate.id}/impact`, { as: 'steward', body: {} })).status, 403);

  // A partial run (S3 not listed completely) is no better: what it did not see would read as "gone".
  await evaluateSnapshot(api, {
    observed_at: '2026-11-17T06:00:00.000Z',
    resources: [],
    findings: [],
    lake_formation: { permissions: [] },
    coverage: [{ account: '111122223333', region: 'us-east-1', resource_type: 'AWS::S3::Bucket', complete: false, reason: 'ListBuckets throttled' }],
  });
  const partial = await impact(api, candidate.id, { decisions: 0 });
  t.equal(partial.status, 200);
  t.match(partial.body.findings, { status: 'not_tested', reason: /is partial/, collection_id: null });
  t.match(partial.body.decisions, { requested: 0, evaluated: 0 });
});

const opa = opaBinary();
if (!opa && IN_CI) t.fail('the OPA CLI is required in CI (npm run tools:opa): the impact and replay tests compile their own Rego');
const skip = opa ? false : 'OPA CLI not installed (npm run tools:opa installs it with Go); skipping the tests that compile a different bundle';

/**
 * rego/ compiled without the rule s3.bucket_public_read, and with an access policy under which the
 * purpose `reporting` no longer reads anything: a real bundle whose findings and decisions differ.
 */
async function stricterBundle(): Promise<Buffer> {
  const dir = await tempDir();
  const src = path.join(dir, 'rego');
  await fs.cp(path.resolve('rego'), src, { recursive: true });
  await fs.rm(path.join(src, 'custos/rules/s3/bucket_public_read'), { recursive: true });
  const access = path.join(src, 'custos/access/decision.rego');
  const rego = await fs.readFile(access, 'utf8');
  if (!rego.includes('verdict := "allow" if allowed')) throw new Error('decision.rego changed: update this test');
  await fs.writeFile(access, rego.replace('verdict := "allow" if allowed', 'verdict := "allow" if {\n\tallowed\n\tinput.purpose != "reporting"\n}'));
  const out = path.join(dir, 'stricter.tar.gz');
  execFileSync(opa!, ['build', '-t', 'wasm', ...ENTRYPOINTS.flatMap((e) => ['-e', e]), '--revision', 'stricter', '--ignore', '*_test.rego', '-o', out, src]);
  return fs.readFile(out);
}

t.test('impact of a bundle that drops a rule, then replay once it is active', { skip }, async (t) => {
  const stricter = await upload(api, await stricterBundle());
  t.notOk(stricter.rules.some((r) => r.id === 's3.bucket_public_read'));

  // The estate as a complete collection run: its public bucket is an open finding.
  await evaluateSnapshot(api, { observed_at: '2026-11-18T06:00:00.000Z', resources: ESTATE.resources, findings: ESTATE.findings, lake_formation: ESTATE.lake_formation });
  const open = await api.call('GET', '/v1/findings?rule_id=s3.bucket_public_read&status=open', { as: 'auditor' });
  t.equal(open.body.items.length, 1);

  const result = await impact(api, stricter.id);
  t.equal(result.status, 200, JSON.stringify(result.body));
  const { findings, decisions } = result.body;
  t.match(findings, { status: 'tested', reason: null, counts: { would_appear: 0, would_disappear: 1 } });
  t.ok(findings.collection_id);
  t.same(findings.would_disappear.map((f: any) => [f.rule_id, f.resource.id, f.finding_id, f.finding_status]), [['s3.bucket_public_read', 'wealth-client-documents', open.body.items[0].id, 'open']]);
  t.ok(findings.counts.unchanged > 0, 'the other findings stay');

  // Flipped: the compliance decision loses a violation; the reporting read becomes a deny.
  const flippedIds = decisions.flipped.map((d: any) => d.id);
  t.ok(flippedIds.includes(compliance.decision_id), 'the estate decision flips');
  t.ok(flippedIds.includes(plain.decision_id), 'the reporting read flips to deny');
  const flip = decisions.flipped.find((d: any) => d.id === plain.decision_id);
  t.match(flip, { entrypoint: 'custos/access/decision', baseline: { decision: 'allow' }, candidate: { decision: 'deny' } });
  const estateFlip = decisions.flipped.find((d: any) => d.id === compliance.decision_id);
  t.match(estateFlip.differences, [{ path: '[]', change: 'removed', before: { id: 's3.bucket_public_read' } }]);
  t.notOk(flippedIds.includes(audit.decision_id), 'the same read for another purpose is unchanged');
  t.notOk(flippedIds.includes(pii.decision_id), 'a deny stays a deny');
  t.ok(flippedIds.includes(rules.decision_id), 'the rules listing loses the dropped rule');
  t.equal(decisions.counts.failed, 0);

  // Activated by two people, the bundle now decides; replay shows both answers and what changed.
  await approvePending(api, await api.call('POST', `/v1/policy-bundles/${stricter.id}/activate`, { as: 'compliance_officer' }));
  await api.app.policy.sync();
  const replayed = await replay(api, compliance.decision_id, 'auditor');
  t.equal(replayed.status, 200, JSON.stringify(replayed.body));
  t.match(replayed.body, { changed: true, reproduces_log: true, original: { bundle_revision: /^rego-/ }, current: { bundle_id: stricter.id, bundle_revision: 'stricter' } });
  t.ok(replayed.body.original.result.some((v: any) => v.id === 's3.bucket_public_read'), 'the original result, with the public bucket');
  t.notOk(replayed.body.current.result.some((v: any) => v.id === 's3.bucket_public_read'), 'the current result, without it');
  t.same(replayed.body.differences.map((d: any) => [d.path, d.change, d.before?.id]), [['[]', 'removed', 's3.bucket_public_read']]);

  // Public columns only: a steward may replay it, and sees the allow become a deny.
  const access = await replay(api, plain.decision_id, 'steward');
  t.equal(access.status, 200, JSON.stringify(access.body));
  t.match(access.body, { changed: true, reproduces_log: true, original: { result: { decision: 'allow' } }, current: { bundle_revision: 'stricter', result: { decision: 'deny' } } });
  t.ok(access.body.differences.some((d: any) => d.path === 'decision' && d.before === 'allow' && d.after === 'deny'));
  t.match(await replay(api, audit.decision_id, 'steward'), { status: 200, body: { changed: false } });
  t.match(await replay(api, pii.decision_id, 'auditor'), { status: 200, body: { changed: false } });
});
