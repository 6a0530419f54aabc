import { GetBucketVersioningCommand } from '@aws-sdk/client-s3';
import t from 'tap';
import { testApp, waitFor } from '../helpers/app.js';
import { motoSkip, startMoto } from '../helpers/moto.js';
import { collectAndEvaluate, findingOf, publicBuckets, registerSource, s3On } from './helpers.js';

const BUCKET = 'wealth-auto';

t.test('CUSTOS_AUTO_REMEDIATE: low-risk findings of rules that allow it are fixed after the evaluation, without approval; others wait', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  await publicBuckets(moto.endpoint, [BUCKET]);
  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2, autoRemediate: true } });
  await registerSource(api);
  await collectAndEvaluate(api);
  const versioning = await findingOf(api, 's3.bucket_versioning', BUCKET);
  t.match(versioning, { status: 'open', rule_url: '/v1/policies/s3.bucket_versioning' });
  t.match((await api.call('GET', versioning.rule_url)).body, { remediation: 's3_enable_versioning', auto_remediate: true });

  const auto = await waitFor(async () => {
    const list = (await api.call('GET', `/v1/remediations?finding_id=${versioning.id}`)).body.items;
    return list.find((r: { status: string }) => ['verified', 'failed', 'partially_applied'].includes(r.status));
  }, 'the auto-remediation');
  t.match(auto, { status: 'verified', trigger: 'auto', requester: 'system:auto-remediation', approval_required: false, action: 's3_enable_versioning' });
  const detail = (await api.call('GET', `/v1/remediations/${auto.id}`)).body;
  t.same(detail.approvals, [], 'no approval was needed');
  t.same(detail.resources[0].before, { versioning: 'Off' });
  const s3 = s3On(moto.endpoint);
  t.teardown(() => s3.destroy());
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: BUCKET }))).Status, 'Enabled');
  t.ok(Number((await api.app.db('evidence_items').where({ kind: 'remediation', source_id: auto.id, control_id: 'A1.2' }).count('* as n').first())?.n) > 0, 'evidence for the rule control');

  // The public bucket's rule does not allow auto-remediation: nothing was planned for it.
  const publicRead = await findingOf(api, 's3.bucket_public_read', BUCKET);
  t.same((await api.call('GET', `/v1/remediations?finding_id=${publicRead.id}`)).body.items, []);

  // The next evaluation resolves the versioning finding and starts nothing new.
  await collectAndEvaluate(api);
  t.equal((await findingOf(api, 's3.bucket_versioning', BUCKET)).status, 'resolved');
  t.equal((await api.call('GET', '/v1/remediations?rule_id=s3.bucket_versioning')).body.items.length, 1);
});
