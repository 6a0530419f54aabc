import { createHash } from 'node:crypto';
import { CreateBucketCommand, PutBucketAclCommand, S3Client } from '@aws-sdk/client-s3';
import { PutPublicAccessBlockCommand, S3ControlClient } from '@aws-sdk/client-s3-control';
import t from 'tap';
import { s3ControlConfig } from '../../src/sources/collectors/s3account.js';
import { verifyBytes } from '../../src/evidence/signing.js';
import { canonicalJson, itemHash, sha256 } from '../../src/evidence/chain.js';
import { testApp, waitFor, type TestApp } from '../helpers/app.js';
import { MOTO_ACCOUNT, motoSkip, startMoto } from '../helpers/moto.js';
import { assertValid } from '../helpers/oscal.js';
import { download, readZip } from '../helpers/zip.js';

const REGION = 'us-east-1';
const LEGACY = 'wealth-legacy-brochures';
const REPORTS = 'wealth-client-reports';

const completeEvaluations = async (api: TestApp) =>
  (await api.call('GET', '/v1/evaluations?limit=100', { as: 'auditor' })).body.items.filter((e: { status: string }) => e.status === 'complete');
const evaluationCount = (api: TestApp, n: number) => waitFor(async () => ((await completeEvaluations(api)).length >= n ? true : undefined), `${n} evaluations`, 60_000);

async function collect(api: TestApp, evaluationsBefore: number) {
  const started = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { sources: ['wealth-s3'] } });
  const run = await waitFor(async () => {
    const r = (await api.call('GET', `/v1/collections/${started.body.id}`)).body;
    return ['complete', 'partial', 'failed'].includes(r.status) ? r : undefined;
  }, 'collection', 60_000);
  await evaluationCount(api, evaluationsBefore + 1);
  return run;
}

/**
 * A whole audit period on moto: a first collection finds one public bucket; an exception for it is
 * approved by a second officer; another bucket is made public; a second collection finds it. The
 * control statuses, their history and the exported zip must tell exactly that story.
 */
t.test('an audit period: statuses, history and the verified export agree', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const s3 = new S3Client({ region: REGION, endpoint: moto.endpoint, forcePathStyle: true });
  for (const Bucket of [LEGACY, REPORTS]) await s3.send(new CreateBucketCommand({ Bucket }));
  // The account-level Block Public Access is on and collected (s3account): CC6.6's third rule is tested and passes.
  await new S3ControlClient(s3ControlConfig({ aws: { region: REGION, endpoint: moto.endpoint, maxAttempts: 2 } })).send(
    new PutPublicAccessBlockCommand({ AccountId: MOTO_ACCOUNT, PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true } }),
  );
  await s3.send(new PutBucketAclCommand({ Bucket: LEGACY, ACL: 'public-read' }));

  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 } });
  const periodFrom = new Date(Date.now() - 60_000).toISOString();
  await api.call('POST', '/v1/sources', { as: 'compliance_officer', body: { name: 'wealth-s3', account_id: MOTO_ACCOUNT, region: REGION, services: ['s3', 's3account'] } });

  // 1. The first run: the legacy bucket is public.
  const first = await collect(api, 0);
  t.equal(first.status, 'complete', JSON.stringify(first.gaps));
  const cc66 = async () => (await api.call('GET', '/v1/controls/CC6.6', { as: 'auditor' })).body;
  t.match(await cc66(), { status: 'failing', open_findings: 1, excepted_findings: 0 });
  const legacy = (await api.call('GET', `/v1/findings?rule=s3.bucket_public_read&resource=${LEGACY}`, { as: 'auditor' })).body.items[0];
  t.match(legacy, { status: 'open', resource_id: LEGACY });

  // 2. An exception for it, approved by a second officer; the latest run is re-evaluated.
  const exception = await api.call('POST', '/v1/exceptions', {
    as: 'compliance_officer',
    body: { finding_id: legacy.id, justification: 'Marketing brochures are public by design', compensating_control: 'Weekly review of the object list', expires_at: new Date(Date.now() + 30 * 86_400_000).toISOString() },
  });
  t.equal(exception.status, 201, JSON.stringify(exception.body));
  const second = (await api.call('POST', '/v1/api-keys', { body: { role: 'compliance_officer', name: 'second-officer' } })).body.key;
  const approved = await api.call('POST', `/v1/exceptions/${exception.body.id}/approve`, { key: second, body: { note: 'accepted for the period' } });
  t.equal(approved.status, 200, JSON.stringify(approved.body));
  await evaluationCount(api, 2);
  t.match(await cc66(), { status: 'passing', open_findings: 0, excepted_findings: 1 });

  // 3. Between the runs someone makes the reports bucket public; the second run finds it.
  await s3.send(new PutBucketAclCommand({ Bucket: REPORTS, ACL: 'public-read' }));
  const secondRun = await collect(api, 2);
  t.equal(secondRun.status, 'complete');
  t.match(await cc66(), { status: 'failing', open_findings: 1, excepted_findings: 1 });
  const periodTo = new Date(Date.now() + 60_000).toISOString();

  // History over the period: failing, passing (excepted), failing (the new bucket).
  const history = (await api.call('GET', `/v1/controls/CC6.6/history?from=${periodFrom}&to=${periodTo}`, { as: 'auditor' })).body;
  t.same(
    history.items.map((i: { status: string; open_findings: number; excepted_findings: number }) => [i.status, i.open_findings, i.excepted_findings]),
    [['failing', 1, 0], ['passing', 0, 1], ['failing', 1, 1]],
  );

  // The export of the period, unzipped, every hash checked, the signature verified.
  const response = await download(api, `/v1/evidence/export?from=${periodFrom}&to=${periodTo}&controls=CC6.6,CC6.1,CC1.1`);
  t.equal(response.status, 200);
  const files = await readZip(response.bytes);
  const manifestBytes = files.get('manifest.json')!;
  const manifest = JSON.parse(manifestBytes.toString());
  for (const file of manifest.files) t.equal(createHash('sha256').update(files.get(file.path)!).digest('hex'), file.sha256, `${file.path} hash`);
  const key = (await api.call('GET', '/v1/evidence/public-key', { as: 'auditor' })).body;
  t.ok(verifyBytes(key.public_key_pem, manifestBytes, files.get('manifest.sig')!), 'signed manifest');
  t.match(manifest.chain, { item_hashes_ok: true, bodies_ok: true });
  t.equal(manifest.bundle_revisions.length, 1);

  // The timeline in the zip is the history.
  const timeline = JSON.parse(files.get('controls/CC6.6/timeline.json')!.toString());
  t.same(timeline.items, history.items, 'timeline.json equals the history endpoint');
  t.match(files.get('status-timeline.csv')!.toString(), /CC6\.6,[^\n]*,false,failing,1,0,[^\n]*\nCC6\.6,[^\n]*,false,passing,0,1,[^\n]*\nCC6\.6,[^\n]*,false,failing,1,1,/);

  // The evidence of CC6.6 in chain order: two runs, three evaluations, the exception's approval.
  const evidence = JSON.parse(files.get('controls/CC6.6/evidence.json')!.toString());
  t.same(evidence.map((i: { kind: string }) => i.kind), ['collection', 'evaluation', 'exception', 'evaluation', 'collection', 'evaluation']);
  for (const item of evidence) {
    t.equal(sha256(canonicalJson(item.body)), item.body_sha256);
    t.equal(itemHash(item.prev_hash, item), item.hash);
  }
  t.same(evidence.filter((i: { kind: string }) => i.kind === 'evaluation').map((i: { body: { status: string } }) => i.body.status), ['failing', 'passing', 'failing']);
  t.equal(evidence[4].body.collected.counts['AWS::S3::Bucket'], 2, 'the second run saw both buckets');

  // Exceptions and findings of the period.
  const exceptions = JSON.parse(files.get('exceptions.json')!.toString());
  t.match(exceptions, [{ id: exception.body.id, status: 'approved', requested_by: 'test-compliance_officer', decided_by: 'second-officer' }]);
  const findings = files.get('findings.csv')!.toString();
  t.match(findings, new RegExp(`s3\\.bucket_public_read,critical,[^\\n]*,${LEGACY},[^\\n]*,excepted,`));
  t.match(findings, new RegExp(`s3\\.bucket_public_read,critical,[^\\n]*,${REPORTS},[^\\n]*,open,`));

  // Coverage: tested today; OSCAL valid and honest; the summary says failing.
  t.match(JSON.parse(files.get('controls/CC6.6/coverage.json')!.toString()), { days_tested: 1, days_passing: 0 });
  const oscal = JSON.parse(files.get('oscal/assessment-results.json')!.toString());
  assertValid(t, oscal);
  const cc66Finding = oscal['assessment-results'].results[0].findings.find((f: { target: { 'target-id': string } }) => f.target['target-id'] === 'cc6.6');
  t.equal(cc66Finding.target.status.state, 'not-satisfied');
  t.match(files.get('summary.html')!.toString(), /<strong>CC6\.6<\/strong>[^\n]*class="failing">failing/);

  // The chain as a whole still verifies, and its head is the manifest's.
  const verified = (await api.call('POST', '/v1/evidence/verify', { as: 'auditor' })).body;
  t.match(verified, { ok: true, head: manifest.chain.head.hash });
});
