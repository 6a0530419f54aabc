import t from 'tap';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { loadDemoData } from '../../src/demo/load.js';
import { testApp, type TestApp, waitFor } from '../helpers/app.js';

const ACCOUNT = '111122223333';

/** What the demo estate violates, besides catalog.pii_masking (counted from the catalog). */
const EXPECTED_AWS: Array<[string, string]> = [
  ['ec2.ebs_default_encryption', `${ACCOUNT}:us-east-1`],
  ['ec2.volume_encrypted', 'vol-0a1b2c3d4e5f60001'],
  ['iam.password_policy', ACCOUNT],
  ['kms.key_rotation', '9a8b7c6d-exports'],
  ['lakeformation.restricted_column_grant', `arn:aws:iam::${ACCOUNT}:role/analytics-etl:wealth.clients.ssn`],
  ['lakeformation.restricted_column_grant', `arn:aws:iam::${ACCOUNT}:role/data-science:wealth.clients.date_of_birth`],
  ['lakeformation.restricted_column_grant', `arn:aws:iam::${ACCOUNT}:role/data-science:wealth.clients.ssn`],
  ['rds.backup_retention', 'wealth-reporting'],
  ['s3.bucket_access_logging', 'wealth-analytics-exports'],
  ['s3.bucket_kms_encryption', 'wealth-account-statements'],
  ['s3.bucket_public_read', 'wealth-analytics-exports'],
  ['s3.bucket_public_read', 'wealth-client-documents'],
  ['s3.bucket_versioning', 'wealth-account-statements'],
  ['catalog.retention_lifecycle', 'wealth-account-statements'],
  ['securityhub.finding_sla', `arn:aws:securityhub:us-east-1:${ACCOUNT}:subscription/aws-foundational-security-best-practices/v/1.0.0/EC2.3/finding/0002`],
  ['securityhub.finding_sla', `arn:aws:securityhub:us-east-1:${ACCOUNT}:subscription/aws-foundational-security-best-practices/v/1.0.0/S3.2/finding/0001`],
].sort() as Array<[string, string]>;

/** Imports a snapshot and waits for the evaluation that follows it. */
async function importAndEvaluate(api: TestApp, snapshot: unknown) {
  const run = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot } });
  if (run.status !== 201) throw new Error(JSON.stringify(run.body));
  const evaluation = await waitFor(async () => {
    const list = await api.call('GET', `/v1/evaluations?collection_id=${run.body.id}`);
    const done = list.body.items.find((e: { status: string }) => e.status === 'complete' || e.status === 'failed');
    return done;
  }, 'evaluation', 15_000);
  return { run: run.body, evaluation };
}

const allFindings = async (api: TestApp, query = '') => {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const page: any = await api.call('GET', `/v1/findings?limit=500${query}${cursor ? `&cursor=${cursor}` : ''}`, { as: 'auditor' });
    items.push(...page.body.items);
    cursor = page.body.next_cursor;
  } while (cursor);
  return items;
};

t.test('the demo estate: imported, evaluated, exactly the expected findings', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  const { run, evaluation } = await importAndEvaluate(api, wealthEstate);
  t.match(run, { status: 'complete', trigger: 'file', observed_at: '2026-11-20T06:00:00.000Z', counts: { file: { resources: 15, findings: 5, permissions: 4, settings: 2 } } });
  t.match(evaluation, { status: 'complete', run_partial: false, bundle_revision: /^rego-/, catalog_sha256: /^[0-9a-f]{64}$/ });

  const findings = await allFindings(api, '&status=open');
  const unmasked = Number((await api.app.db('asset_columns').whereNotNull('pii_type').whereNull('masking_rule').count('* as n').first())!.n);
  t.ok(unmasked > 0);
  t.equal(findings.filter((f) => f.rule_id === 'catalog.pii_masking').length, unmasked, 'one finding per PII column without masking');
  t.same(findings.filter((f) => f.rule_id !== 'catalog.pii_masking').map((f) => [f.rule_id, f.resource_id]).sort(), EXPECTED_AWS);
  t.equal(evaluation.counts.violations, findings.length);
  t.equal(evaluation.counts.new, findings.length);

  const ssn = findings.find((f) => f.resource_id.endsWith('analytics-etl:wealth.clients.ssn'));
  t.match(ssn, { severity: 'critical', controls: ['CC6.1', 'CC6.3', 'C1.1'], status: 'open', first_seen_at: '2026-11-20T06:00:00.000Z', account: ACCOUNT });
  t.match(ssn.msg, /analytics-etl can SELECT restricted column wealth.clients.ssn without an approved grant/);

  // Filters.
  t.equal((await allFindings(api, '&control=CC6.6')).length, 2);
  t.same((await allFindings(api, '&rule=s3.bucket_versioning')).map((f) => f.resource_id), ['wealth-account-statements']);
  const critical = await allFindings(api, '&severity=critical');
  t.ok(critical.length > 0, 'the demo estate has critical findings');
  t.ok(critical.every((f) => f.severity === 'critical'), 'the severity filter keeps only critical findings');
  t.equal((await allFindings(api, `&resource=wealth-client-documents`)).length, 1);
  t.equal((await api.call('GET', '/v1/findings?status=closed')).status, 400);

  // The run can be read back as it was.
  const buckets = await api.call('GET', `/v1/collections/${run.id}/resources?type=AWS::S3::Bucket`);
  t.same(buckets.body.items.map((i: any) => i.data.id).sort(), ['wealth-access-logs', 'wealth-account-statements', 'wealth-analytics-exports', 'wealth-client-documents']);
  const permissions = await api.call('GET', `/v1/collections/${run.id}/resources?kind=permission`);
  t.equal(permissions.body.items.length, 4);

  // Re-evaluating the same run with the same bundle gives the same findings.
  const again = await api.call('POST', '/v1/evaluations', { as: 'compliance_officer', body: { collection_id: run.id } });
  t.equal(again.status, 202);
  const second = await waitFor(async () => {
    const e = (await api.call('GET', `/v1/evaluations/${again.body.id}`)).body;
    return e.status === 'complete' ? e : undefined;
  }, 'second evaluation', 15_000);
  t.match(second.counts, { violations: findings.length, new: 0, reopened: 0, resolved: 0 });
  t.same((await allFindings(api, `&evaluation=${second.id}`)).map((f) => f.id).sort(), findings.map((f) => f.id).sort());
});

t.test('a fix resolves its finding at the next run; the diff shows what changed', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  const first = await importAndEvaluate(api, wealthEstate);
  const fixed = structuredClone(wealthEstate);
  fixed.observed_at = '2026-11-21T06:00:00.000Z';
  const documents = fixed.resources.find((r) => r.id === 'wealth-client-documents')!;
  (documents.configuration as { acl_grants: unknown[] }).acl_grants = [{ grantee_id: 'owner-canonical-id', permission: 'FULL_CONTROL' }];
  fixed.resources = fixed.resources.filter((r) => r.id !== 'vol-0a1b2c3d4e5f60001');
  const second = await importAndEvaluate(api, fixed);
  t.match(second.evaluation.counts, { resolved: 2, new: 0 });

  const resolved = await allFindings(api, '&status=resolved');
  t.same(resolved.map((f) => [f.rule_id, f.resource_id]).sort(), [
    ['ec2.volume_encrypted', 'vol-0a1b2c3d4e5f60001'],
    ['s3.bucket_public_read', 'wealth-client-documents'],
  ]);
  t.equal(resolved[0].resolved_at, '2026-11-21T06:00:00.000Z');
  const stillOpen = (await allFindings(api, '&rule=s3.bucket_public_read&status=open')).map((f) => f.resource_id);
  t.same(stillOpen, ['wealth-analytics-exports']);
  t.equal((await allFindings(api, '&rule=iam.password_policy'))[0].last_seen_at, '2026-11-21T06:00:00.000Z');

  const diff = await api.call('GET', `/v1/collections/${second.run.id}/diff?against=${first.run.id}`);
  t.same(diff.body.items.map((d: any) => [d.change, d.key]), [
    ['removed', `AWS::EC2::Volume|${ACCOUNT}|us-east-1|vol-0a1b2c3d4e5f60001`],
    ['changed', `AWS::S3::Bucket|${ACCOUNT}|us-east-1|wealth-client-documents`],
  ]);
  t.equal((await api.call('GET', `/v1/collections/${second.run.id}/diff?against=01900000-0000-7000-8000-000000000000`)).status, 404);
});

t.test('a malformed snapshot is refused whole, naming the problem', async (t) => {
  const api = await testApp(t);
  const broken = structuredClone(wealthEstate) as any;
  broken.resources[1].configuration.versioning = 'Sometimes';
  broken.findings[0].severity = 'SEVERE';
  broken.resources[4].type = 'AWS::EC2::Toaster';
  const response = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot: broken } });
  t.equal(response.status, 400);
  t.equal(response.body.type, '/problems/invalid-snapshot');
  t.same(response.body.errors.map((e: any) => e.field).sort(), ['snapshot.findings[0].severity', 'snapshot.resources[1].configuration.versioning', 'snapshot.resources[4].type']);
  const typeless = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot: { ...structuredClone(wealthEstate), findings: [] , resources: [structuredClone(wealthEstate.resources[1])].map((r: any) => ({ ...r, configuration: { ...r.configuration, versioning: 'Sometimes' } })) } } });
  t.equal(typeless.status, 400);
  t.match(typeless.body.errors, [{ field: 'snapshot.resources[0].configuration.versioning', message: /must be equal to one of the allowed values|must be equal to constant/ }]);
  t.equal((await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file' } })).status, 400);
  t.equal((await api.app.db('collection_runs').count('* as n').first())!.n, 0, 'nothing stored');
  t.equal((await api.app.db('run_items').count('* as n').first())!.n, 0);
  t.equal((await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: {} })).status, 409, 'no source registered');
});

t.test('--demo opens with the demo estate already evaluated', async (t) => {
  const api = await testApp(t, { demo: true });
  await loadDemoData(api.app.db);
  const runs = await api.call('GET', '/v1/collections');
  t.equal(runs.body.items.length, 1);
  t.equal(runs.body.items[0].trigger, 'demo');
  t.ok((await allFindings(api, '&rule=s3.bucket_public_read')).length === 2);
});

t.test('issue 11, reproduction 1: a complete snapshot without IAM does not resolve the IAM finding', async (t) => {
  const api = await testApp(t);
  const iam = wealthEstate.resources.find((r) => r.type === 'AWS::IAM::PasswordPolicy')!;
  const bucket = wealthEstate.resources.find((r) => r.id === 'wealth-access-logs')!;
  const snapshot = (observed_at: string, resources: unknown[]) => ({ observed_at, resources, findings: [], lake_formation: { permissions: [] } });
  await importAndEvaluate(api, snapshot('2026-11-20T06:00:00.000Z', [iam, bucket]));
  const { run, evaluation } = await importAndEvaluate(api, snapshot('2026-11-21T06:00:00.000Z', [bucket]));
  t.match(run, { status: 'complete' });
  t.match(evaluation.counts, { resolved: 0, carried: 1 });
  t.match(evaluation.rule_coverage['iam.password_policy'], { tested: false, why: /AWS::IAM::PasswordPolicy in 111122223333 \(never listed\)/ });

  const [finding] = await allFindings(api, '&rule=iam.password_policy');
  t.match(finding, { status: 'open', resolved_at: null, last_seen_at: '2026-11-20T06:00:00.000Z' }, 'IAM was not looked at: the finding stays open');
  const cc61 = (await api.call('GET', '/v1/controls/CC6.1', { as: 'auditor' })).body;
  t.match(cc61, { status: 'failing', open_findings: 1 });
  t.same(cc61.reasons.failing_rules, [{ rule_id: 'iam.password_policy', open_findings: 1 }]);
  t.same(cc61.failing_findings.map((f: { rule_id: string }) => f.rule_id), ['iam.password_policy']);
  // The run says what it covered: the bucket's type, completely, and nothing about IAM.
  const coverage = (await api.call('GET', `/v1/collections/${run.id}`)).body.coverage;
  t.same(coverage, [{ account: ACCOUNT, region: 'us-east-1', service: 'file', resource_type: 'AWS::S3::Bucket', complete: true, reason: null }]);
  // The findings of an evaluation are what it reported; the carried one is not among them.
  // (It reported nothing: the bucket is compliant, and trails were never listed, so there is no
  // "no trail" verdict either; the carried IAM finding counts above as carried, not reported.)
  const reported = (await allFindings(api, `&evaluation=${evaluation.id}`)).map((f) => f.rule_id);
  t.same(reported, []);

  // A snapshot that lists IAM completely and finds a strong policy resolves it.
  const strong = { ...iam, configuration: { present: true, minimum_password_length: 16, require_symbols: true, require_numbers: true, require_uppercase_characters: true, require_lowercase_characters: true } };
  const third = await importAndEvaluate(api, snapshot('2026-11-22T06:00:00.000Z', [strong, bucket]));
  t.match(third.evaluation.counts, { resolved: 1, carried: 0 });
  t.match((await allFindings(api, '&rule=iam.password_policy'))[0], { status: 'resolved', resolved_at: '2026-11-22T06:00:00.000Z' });
});
