import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import t from 'tap';
import { testApp, type TestApp, waitFor } from '../helpers/app.js';
import { MOTO_ACCOUNT, motoClient, motoSkip, startMoto } from '../helpers/moto.js';

/**
 * Issue 11: rules that conclude from absence ("no CloudTrail trail") judge only where the run listed
 * what they rely on completely. On moto, through the API: a run whose source never listed CloudTrail
 * says nothing about trails (the rule is not tested, CC7.2 cannot pass); a run that listed trails
 * completely and found none reports it; a compliant trail then resolves it.
 */

const collect = async (api: TestApp, source: string) => {
  const started = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { sources: [source] } });
  if (started.status !== 202) throw new Error(`collect → ${started.status} ${JSON.stringify(started.body)}`);
  const run = await waitFor(async () => {
    const r = (await api.call('GET', `/v1/collections/${started.body.id}`)).body;
    return ['complete', 'partial', 'failed'].includes(r.status) ? r : undefined;
  }, 'run', 60_000);
  const evaluation = await waitFor(async () => {
    const list = await api.call('GET', `/v1/evaluations?collection_id=${run.id}`);
    return list.body.items.find((e: { status: string }) => ['complete', 'failed'].includes(e.status));
  }, 'evaluation', 60_000);
  return { run, evaluation };
};

const trailFindings = async (api: TestApp, status = 'open') =>
  ((await api.call('GET', `/v1/findings?rule_id=cloudtrail.multi_region_validation&status=${status}`, { as: 'auditor' })).body.items as Array<{ msg: string; resource_id: string }>);

t.test('"no CloudTrail trail" only where trails were listed completely', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const s3 = new S3Client({ ...motoClient(moto.endpoint), forcePathStyle: true });
  t.teardown(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: 'absence-logs' }));
  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 } });

  // A source that lists S3 only: the account is seen (its bucket), its trails never listed.
  const created = await api.call('POST', '/v1/sources', { as: 'compliance_officer', body: { name: 'use1', account_id: MOTO_ACCOUNT, region: 'us-east-1', services: ['s3'] } });
  t.equal(created.status, 201);
  const first = await collect(api, 'use1');
  t.equal(first.run.status, 'complete');
  t.equal(first.evaluation.status, 'complete');
  t.same(await trailFindings(api), [], 'no "no trail" finding about trails never listed');
  t.match(first.evaluation.rule_coverage['cloudtrail.multi_region_validation'], {
    tested: false,
    why: `not listed completely where it applies: AWS::CloudTrail::Trail in ${MOTO_ACCOUNT}/us-east-1 (never listed)`,
  });
  const cc72 = (await api.call('GET', '/v1/controls/CC7.2', { as: 'auditor' })).body;
  t.not(cc72.status, 'passing', 'CC7.2 does not pass on trails never seen');
  // (It fails on the bucket's missing access logging, which was seen; the trail rule is not tested.)
  t.same(cc72.reasons.failing_rules, [{ rule_id: 's3.bucket_access_logging', open_findings: 1 }]);
  t.notOk(cc72.reasons.passing_rules.includes('cloudtrail.multi_region_validation'));
  t.match(cc72.reasons.untested_rules, [{ rule_id: 'cloudtrail.multi_region_validation', why: /AWS::CloudTrail::Trail in \d{12}\/us-east-1 \(never listed\)/ }]);

  // The same source now lists CloudTrail: listed completely, no trail at all. That is a verdict.
  const patched = await api.call('PATCH', `/v1/sources/${created.body.id}`, { as: 'compliance_officer', body: { services: ['s3', 'cloudtrail'] }, headers: { 'if-match': `"${created.body.version}"` } });
  t.equal(patched.status, 200, JSON.stringify(patched.body));
  const second = await collect(api, 'use1');
  t.equal(second.run.status, 'complete');
  t.match(second.run.coverage, [{ account: MOTO_ACCOUNT, region: 'us-east-1', service: 'cloudtrail', resource_type: 'AWS::CloudTrail::Trail', complete: true }]);
  const open = await trailFindings(api);
  t.same(open.map((f) => [f.resource_id, f.msg]), [[MOTO_ACCOUNT, `account ${MOTO_ACCOUNT} has no CloudTrail trail (trails listed completely in us-east-1)`]]);
  const failing = (await api.call('GET', '/v1/controls/CC7.2', { as: 'auditor' })).body;
  t.equal(failing.status, 'failing');
  t.match(failing.reasons.failing_rules, [{ rule_id: 'cloudtrail.multi_region_validation', open_findings: 1 }]);

  // A multi-region, validated, logging trail: the next complete listing resolves the finding.
  const cloudtrail = new CloudTrailClient(motoClient(moto.endpoint));
  t.teardown(() => cloudtrail.destroy());
  await cloudtrail.send(new CreateTrailCommand({ Name: 'org-trail', S3BucketName: 'absence-logs', IsMultiRegionTrail: true, EnableLogFileValidation: true }));
  await cloudtrail.send(new StartLoggingCommand({ Name: 'org-trail' }));
  const third = await collect(api, 'use1');
  t.equal(third.run.status, 'complete');
  t.same(await trailFindings(api), []);
  t.equal((await trailFindings(api, 'resolved')).length, 1);
  t.match(third.evaluation.rule_coverage['cloudtrail.multi_region_validation'], { tested: true });
});
