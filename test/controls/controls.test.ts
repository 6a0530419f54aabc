import fs from 'node:fs/promises';
import t from 'tap';
import { CatalogError, loadShippedCatalog, unknownControls, validateCatalog } from '../../src/controls/catalog.js';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { loadDemoData } from '../../src/demo/load.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import { PolicyWorkers } from '../../src/policy/workers.js';
import { SHIPPED } from '../helpers/bundles.js';
import { evaluateSnapshot, testApp, type TestApp } from '../helpers/app.js';

t.test('the catalog is strict data, and the rules agree with it', async (t) => {
  const catalog = loadShippedCatalog();
  t.equal(catalog.controls.length, 43, 'CC1.1–CC9.2, A1.1–A1.3, C1.1–C1.2, PI1.1–PI1.5');
  t.same(catalog.controls.filter((c) => c.automation === 'automated').map((c) => c.id), ['CC6.1', 'CC6.6', 'CC7.2', 'A1.2', 'C1.1', 'C1.2']);
  const workers = new PolicyWorkers({ threads: 1 });
  t.teardown(() => workers.close());
  const rules = (await PolicyEngine.load(workers, await fs.readFile(SHIPPED))).rules();
  t.same(unknownControls(catalog, rules), [], 'every control a rule names is in the catalog');
  for (const control of catalog.controls.filter((c) => c.automation === 'automated')) {
    t.ok(rules.some((r) => r.controls.includes(control.id)), `${control.id} is automated and some rule tests it`);
  }
  t.same(unknownControls(catalog, [{ id: 'x.y', controls: ['CC6.1', 'CC12.9'] }]), ['CC12.9 (rule x.y)']);

  const twice = { ...catalog, controls: [...catalog.controls, catalog.controls[0]] };
  t.throws(() => validateCatalog(twice), /duplicate control id CC1.1/);
  t.throws(() => validateCatalog({ ...catalog, controls: [{ ...catalog.controls[0], id: 'CC10.1' }] }), /must match pattern/);
  const unknownEvidence = () => validateCatalog({ ...catalog, controls: [{ ...catalog.controls[0], evidence: ['screenshots'] }] });
  t.throws(unknownEvidence, /control catalog is invalid: \/controls\/0\/evidence\/0/);
  try {
    unknownEvidence();
  } catch (error) {
    t.ok(error instanceof CatalogError, 'a CatalogError');
  }
  t.throws(() => validateCatalog({ ...catalog, extra: true }), /must NOT have additional properties/);
});

const evaluate = evaluateSnapshot;

const control = async (api: TestApp, id: string) => (await api.call('GET', `/v1/controls/${id}`, { as: 'auditor' })).body;

const ACCOUNT = '111122223333';
const nothing = (observed_at: string) => ({ observed_at, resources: [], findings: [], lake_formation: { permissions: [] } });
/** A snapshot that says S3 was listed completely in the demo account and region, and held no bucket. */
const noBuckets = (observed_at: string, complete = true) => ({
  ...nothing(observed_at),
  coverage: [{ account: ACCOUNT, region: 'us-east-1', resource_type: 'AWS::S3::Bucket', complete, ...(complete ? {} : { reason: 'ListBuckets throttled' }) }],
});
/** The same, with the account-level Block Public Access seen on (CC6.6's third rule, issue 17). */
const noBucketsBlocked = (observed_at: string) => {
  const snapshot = noBuckets(observed_at);
  const block = { block_public_acls: true, ignore_public_acls: true, block_public_policy: true, restrict_public_buckets: true };
  return { ...snapshot, resources: [{ type: 'AWS::S3::AccountPublicAccessBlock', id: ACCOUNT, account: ACCOUNT, region: 'us-east-1', configuration: { public_access_block: block } }] };
};

t.test('status per control from the latest evaluation, with reasons and history', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);

  t.match(await control(api, 'CC6.6'), { status: 'not_tested', reason: 'no evaluation has run yet', reasons: null, coverage: null });
  t.match(await control(api, 'CC1.1'), { status: 'manual', automation: 'manual' });
  t.match(await control(api, 'CC6.1'), { owner: 'ciso@bank.example', last_review_date: '2026-08-15', next_review_date: '2026-11-15' });

  await evaluate(api, wealthEstate);
  const cc66 = await control(api, 'CC6.6');
  t.match(cc66, { status: 'failing', open_findings: 2, coverage: 'complete' });
  t.same([...cc66.rules].sort(), ['s3.account_public_access_block', 's3.bucket_public_read', 's3.bucket_public_write']);
  t.same(cc66.reasons, { failing_rules: [{ rule_id: 's3.bucket_public_read', open_findings: 2 }], untested_rules: [], passing_rules: ['s3.account_public_access_block', 's3.bucket_public_write'] });
  t.same(cc66.failing_findings.map((f: { resource_id: string }) => f.resource_id).sort(), ['wealth-analytics-exports', 'wealth-client-documents']);

  // Issue 11, reproduction 4: the reason names the rule that failed, not every rule of the control.
  const cc72 = await control(api, 'CC7.2');
  t.equal(cc72.status, 'failing');
  t.equal(cc72.reason, '1 open finding(s): s3.bucket_access_logging (1)');
  t.same(cc72.reasons.failing_rules, [{ rule_id: 's3.bucket_access_logging', open_findings: 1 }]);
  t.same(cc72.reasons.passing_rules, ['cloudtrail.multi_region_validation']);

  // A snapshot that saw nothing resolves nothing: S3 was not listed, so the public buckets stay open
  // and CC6.6 stays failing (it used to read "passing").
  await evaluate(api, nothing('2026-11-21T06:00:00.000Z'));
  t.match(await control(api, 'CC6.6'), { status: 'failing', open_findings: 2 });

  // S3 listed completely with no bucket: the public-bucket findings resolve, and "no public bucket"
  // holds over zero buckets (the rules declare absence_is_compliance).
  await evaluate(api, noBucketsBlocked('2026-11-22T06:00:00.000Z'));
  const passing = await control(api, 'CC6.6');
  t.match(passing, { status: 'passing', open_findings: 0, failing_findings: [], coverage: 'complete' });
  t.same(passing.reasons, { failing_rules: [], untested_rules: [], passing_rules: ['s3.account_public_access_block', 's3.bucket_public_read', 's3.bucket_public_write'] });
  // CC7.2: zero buckets is not access logging, and the issue 17 rules saw none of their resources
  // (VPCs, GuardDuty, log groups): not tested, each saying why. The account itself was seen (its
  // Block Public Access), but its trails were never listed: "no trail" would be a verdict on data
  // not seen, so the CloudTrail rule says nothing and is not tested (it used to fail the control).
  const cc72Now = await control(api, 'CC7.2');
  t.match(cc72Now, { status: 'not_tested', open_findings: 0 });
  t.same(cc72Now.failing_findings, [], 'no "no trail" finding from trails never listed');
  t.same(cc72Now.reasons.passing_rules, [], 'nothing passes on data not seen');
  t.same(cc72Now.reasons.untested_rules, [
    { rule_id: 'cloudtrail.multi_region_validation', why: 'not listed completely where it applies: AWS::CloudTrail::Trail in 111122223333/us-east-1 (never listed)' },
    { rule_id: 'ec2.vpc_flow_logs', why: 'no collection covered AWS::EC2::VPC' },
    { rule_id: 'guardduty.detector_enabled', why: 'not listed completely where it applies: AWS::GuardDuty::RegionalSettings in 111122223333/us-east-1 (never listed)' },
    { rule_id: 'logs.audit_retention', why: 'no collection covered AWS::Logs::LogGroup' },
    { rule_id: 'logs.retention_set', why: 'no collection covered AWS::Logs::LogGroup' },
    { rule_id: 's3.bucket_access_logging', why: 'listed completely with none observed: AWS::S3::Bucket in 111122223333/us-east-1' },
  ]);
  t.match(await control(api, 'CC6.1'), { status: 'failing' }, 'the catalog\'s own PII findings keep CC6.1 failing');

  const history = await api.call('GET', '/v1/controls/CC6.6/history', { as: 'auditor' });
  t.same(history.body.items.map((i: { status: string }) => i.status), ['failing', 'failing', 'passing']);
  t.same(history.body.items.map((i: { open_findings: number }) => i.open_findings), [2, 2, 0]);
  t.equal((await api.call('GET', '/v1/controls/CC6.6/history?from=2999-01-01T00:00:00Z&to=2999-02-01T00:00:00Z')).body.items.length, 0);

  const list = await api.call('GET', '/v1/controls?status=manual', { as: 'steward' });
  t.equal(list.body.items.length, 30, 'the manual CC, A and C controls, and PI1.1–PI1.5');
  t.equal((await api.call('GET', '/v1/controls/CC99.1')).status, 400);
  t.equal((await api.call('GET', '/v1/controls/CC9.9')).status, 404, 'well-formed but not in the catalog');

  // S3 listed incompletely: nothing known about buckets, so CC6.6 is not tested, and says why.
  await evaluate(api, noBuckets('2026-11-23T06:00:00.000Z', false));
  const partial = await control(api, 'CC6.6');
  t.match(partial, { status: 'not_tested', coverage: 'partial' });
  t.match(partial.reasons.untested_rules.find((r: { rule_id: string }) => r.rule_id === 's3.account_public_access_block'), {
    why: 'not listed completely where it applies: AWS::S3::AccountPublicAccessBlock in 111122223333 (never listed)',
  });
  t.match(partial.reasons.untested_rules.find((r: { rule_id: string }) => r.rule_id === 's3.bucket_public_read'), { rule_id: 's3.bucket_public_read', why: /not completely listed: AWS::S3::Bucket in 111122223333\/us-east-1 \(file: ListBuckets throttled\)/ });
});

t.test('issue 11, reproduction 2: an estate with no resources of a rule\'s types is not_tested, never passing', async (t) => {
  const api = await testApp(t);
  await evaluate(api, nothing('2026-11-21T06:00:00.000Z'));
  const { body } = await api.call('GET', '/v1/controls?automation=automated', { as: 'auditor' });
  const automated = body.items as Array<{ id: string; status: string; reasons: { untested_rules: Array<{ rule_id: string; why: string }> } }>;
  t.ok(automated.length > 0);
  t.same(automated.filter((c) => c.status === 'passing').map((c) => c.id), [], 'nothing passes on no data');
  const cc66 = automated.find((c) => c.id === 'CC6.6')!;
  t.equal(cc66.status, 'not_tested');
  t.match(cc66.reasons.untested_rules, [{ rule_id: 's3.account_public_access_block', why: /no collection covered AWS::S3::AccountPublicAccessBlock/ }, { rule_id: 's3.bucket_public_read', why: /no collection covered AWS::S3::Bucket/ }, { rule_id: 's3.bucket_public_write' }]);
});

t.test('Type II coverage: days tested in a period, and the gaps', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  const first = await evaluate(api, wealthEstate);
  const second = await evaluate(api, noBucketsBlocked('2026-11-21T06:00:00.000Z'));
  const third = await evaluate(api, noBuckets('2026-11-22T06:00:00.000Z', false));
  // Place the evaluations on chosen days: failing on the 2nd, passing on the 3rd, not tested on the 6th.
  await api.app.db('evaluations').update({ finished_at: '2026-10-02T10:00:00Z' }).where({ id: first.id });
  await api.app.db('evaluations').update({ finished_at: '2026-10-03T10:00:00Z' }).where({ id: second.id });
  await api.app.db('evaluations').update({ finished_at: '2026-10-06T10:00:00Z' }).where({ id: third.id });

  const period = 'from=2026-10-01T00:00:00Z&to=2026-10-08T00:00:00Z';
  const coverage = await api.call('GET', `/v1/controls/CC6.6/coverage?${period}`, { as: 'auditor' });
  t.equal(coverage.status, 200);
  t.match(coverage.body, { control_id: 'CC6.6', days_in_period: 7, days_tested: 2, days_passing: 1, coverage: 0.2857 });
  t.same(coverage.body.days.map((d: { result: string }) => d.result), ['none', 'failing', 'passing', 'none', 'none', 'partial', 'none']);
  t.same(coverage.body.gaps, [
    { from: '2026-10-01', to: '2026-10-01', days: 1, reason: 'no complete evaluation' },
    { from: '2026-10-04', to: '2026-10-05', days: 2, reason: 'no complete evaluation' },
    { from: '2026-10-06', to: '2026-10-06', days: 1, reason: 'not tested: the evaluations that day lacked complete data for its rules (partial collection or coverage)' },
    { from: '2026-10-07', to: '2026-10-07', days: 1, reason: 'no complete evaluation' },
  ]);
  const history = await api.call('GET', `/v1/controls/CC6.6/history?${period}`, { as: 'auditor' });
  t.same(history.body.items.map((i: { status: string }) => i.status), ['failing', 'passing', 'not_tested']);
  t.same(history.body.items.map((i: { coverage: string }) => i.coverage), ['complete', 'complete', 'partial']);

  // Days still to come are neither tested nor gaps.
  const today = new Date().toISOString().slice(0, 10);
  const start = new Date(Date.parse(today) - 2 * 86_400_000).toISOString();
  const later = new Date(Date.parse(today) + 5 * 86_400_000).toISOString();
  const ahead = (await api.call('GET', `/v1/controls/CC6.6/coverage?from=${start}&to=${later}`, { as: 'auditor' })).body;
  t.equal(ahead.days_in_period, 3, 'two days ago, yesterday and today');
  t.equal(ahead.days.at(-1).date, today);

  const manual = await api.call('GET', `/v1/controls/CC1.1/coverage?${period}`, { as: 'auditor' });
  t.match(manual.body, { days_tested: 0, coverage: 0, gaps: [] }, 'manual controls are attested, not tested');

  const backwards = await api.call('GET', '/v1/controls/CC6.6/coverage?from=2026-10-08T00:00:00Z&to=2026-10-01T00:00:00Z');
  t.match(backwards, { status: 400, body: { errors: [{ field: 'to' }] } });
  const tooLong = await api.call('GET', '/v1/controls/CC6.6/coverage?from=2020-01-01T00:00:00Z&to=2026-10-01T00:00:00Z');
  t.match(tooLong, { status: 400, body: { errors: [{ field: 'from' }] } });
  t.equal((await api.call('GET', `/v1/controls/CC6.6/coverage?${period}`, { as: 'pipeline' })).status, 403);
});
