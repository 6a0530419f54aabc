import { GetPublicAccessBlockCommand } from '@aws-sdk/client-s3';
import t from 'tap';
import { approvePending, create, testApp } from '../helpers/app.js';
import { motoSkip, startMoto } from '../helpers/moto.js';
import { collectAndEvaluate, findingOf, publicBuckets, registerSource, remediationIn, s3On } from './helpers.js';

const BUCKET = 'wealth-public-site';

t.test('a public bucket from finding to verified fix: dry run, four-eyes approval, execution, evidence, next evaluation, rollback', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  await publicBuckets(moto.endpoint, [BUCKET]);
  const s3 = s3On(moto.endpoint);
  t.teardown(() => s3.destroy());
  const publicAccessBlock = () =>
    s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET })).then(
      (a) => a.PublicAccessBlockConfiguration,
      (e: Error) => e.name,
    );

  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 } });
  await registerSource(api);
  const first = await collectAndEvaluate(api);
  t.equal(first.run.status, 'complete', JSON.stringify(first.run.gaps));
  const finding = await findingOf(api, 's3.bucket_public_read', BUCKET);
  t.match(finding, { status: 'open', controls: ['CC6.1', 'CC6.6'] });

  // 1. The plan: read from S3 now, the diff shows the public access block; nothing changes in AWS.
  const planned = await api.call('POST', '/v1/remediations', { as: 'compliance_officer', body: { finding_id: finding.id } });
  t.equal(planned.status, 201, JSON.stringify(planned.body));
  const id = planned.body.id;
  t.match(planned.body, { status: 'dry_run', action: 's3_block_public_access', risk: 'low', approval_required: true, requester: 'test-compliance_officer', rule_id: 's3.bucket_public_read' });
  t.same(planned.body.resources.map((r: any) => [r.resource_id, r.status, r.before, r.after]), [
    [BUCKET, 'planned', { public_access_block: null }, { public_access_block: { block_public_acls: true, ignore_public_acls: true, block_public_policy: true, restrict_public_buckets: true } }],
  ]);
  t.equal(await publicAccessBlock(), 'NoSuchPublicAccessBlockConfiguration', 'the dry run changed nothing');
  // Dana plans the second dry run with one key; her other key is still Dana (four eyes compare subjects).
  const dana = [1, 2].map((n) => create(api, '/v1/api-keys', { role: 'compliance_officer', name: `dana-${n}`, subject: 'dana@bank.example' }));
  const busy = await api.call('POST', '/v1/remediations', { key: (await dana[0]!).key, body: { finding_id: finding.id } });
  t.equal(busy.status, 201, 'a second dry run of the same finding is allowed (nothing is locked by a dry run)');
  const byRequesterOtherKey = await api.call('POST', `/v1/remediations/${busy.body.id}/approve`, { key: (await dana[1]!).key, body: {} });
  t.equal(byRequesterOtherKey.status, 403, 'the requester with another key of theirs');
  t.match(byRequesterOtherKey.body.detail, /requested remediation .* and may not approve it/);

  // 2. Not without approval; not approved by the requester, nor by roles that may not approve.
  const unapproved = await api.call('POST', `/v1/remediations/${id}/execute`, { as: 'compliance_officer', body: {} });
  t.equal(unapproved.status, 409);
  t.equal(unapproved.body.type, '/problems/approval-required');
  t.match(unapproved.headers['content-type'], /application\/problem\+json/);
  const byRequester = await api.call('POST', `/v1/remediations/${id}/approve`, { as: 'compliance_officer', body: {} });
  t.equal(byRequester.status, 403);
  t.match(byRequester.body.detail, /requested remediation .* and may not approve it/);
  t.equal((await api.call('POST', `/v1/remediations/${id}/approve`, { as: 'steward', body: {} })).status, 403);
  t.equal((await api.call('POST', `/v1/remediations/${id}/approve`, { as: 'auditor', body: {} })).status, 403);
  t.equal((await api.call('GET', `/v1/remediations/${id}`, { as: 'compliance_officer' })).body.status, 'dry_run');

  // 3. A second compliance officer approves; execution applies, verifies.
  const second = (await create(api, '/v1/api-keys', { role: 'compliance_officer', name: 'second-officer' })).key;
  const approved = await api.call('POST', `/v1/remediations/${id}/approve`, { key: second, body: { comment: 'public website bucket is not meant to be public' } });
  t.equal(approved.status, 200, JSON.stringify(approved.body));
  t.equal(approved.body.status, 'approved');
  t.match(approved.body.approvals, [{ approver: 'second-officer', role: 'compliance_officer', comment: /not meant/ }]);
  t.ok(Date.parse(approved.body.approval.valid_until) > Date.now() + 23 * 3600_000, 'valid for 24 h');
  const rival = await api.call('POST', `/v1/remediations/${busy.body.id}/approve`, { as: 'compliance_officer', body: {} });
  t.equal(rival.status, 409, 'the other dry run of the same finding cannot go live as well');
  t.match(rival.body.detail, new RegExp(`already being remediated by ${id}`));
  const executing = await api.call('POST', `/v1/remediations/${id}/execute`, { as: 'compliance_officer', body: {} });
  t.equal(executing.status, 202, JSON.stringify(executing.body));
  const verified = await remediationIn(api, id, ['verified', 'failed', 'partially_applied']);
  t.equal(verified.status, 'verified', JSON.stringify(verified));
  t.match(verified.resources, [{ resource_id: BUCKET, status: 'verified', error: null }]);
  t.ok(verified.resources[0].aws_request_ids.length >= 1, 'the PutPublicAccessBlock request id is kept');
  t.same(verified.steps.map((s: any) => [s.step, s.status, s.attempts, s.confirmed_on_resume]), [
    ['apply', 'succeeded', 1, false],
    ['verify', 'succeeded', 1, false],
  ]);
  t.same(await publicAccessBlock(), { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
  t.equal((await findingOf(api, 's3.bucket_public_read', BUCKET)).status, 'open', 'Custos does not resolve the finding itself');
  const duplicate = await api.call('POST', '/v1/remediations', { as: 'compliance_officer', body: { finding_id: finding.id } });
  t.equal(duplicate.status, 409, 'the finding is already being remediated');

  // Every step is in the audit log and is evidence for both controls of the rule.
  const audit = (await api.call('GET', `/v1/audit-log?entity=remediations&entity_id=${id}&limit=100`, { as: 'auditor' })).body.items.map((e: any) => `${e.action}:${e.actor}`).reverse();
  t.same(audit, [
    'plan:test-compliance_officer',
    'approve:second-officer',
    'execute:test-compliance_officer',
    'apply_started:system:remediation',
    'apply:system:remediation',
    'applied:system:remediation',
    'verify:system:remediation',
    'verified:system:remediation',
  ]);
  const evidence = await api.app.db('evidence_items').where({ kind: 'remediation', source_id: id }).orderBy('seq').select('control_id', 'body');
  t.same([...new Set(evidence.map((e) => e.control_id))].sort(), ['CC6.1', 'CC6.6']);
  t.same(
    evidence.filter((e) => e.control_id === 'CC6.1').map((e) => e.body.event),
    ['planned', 'approved', 'execution_started', 'apply', 'applied', 'verify', 'verified'],
  );
  t.equal((await api.call('POST', '/v1/evidence/verify', { as: 'auditor', body: {} })).body.ok, true, 'the chain still verifies');

  // 4. The next evaluation confirms the fix and resolves the finding.
  const next = await collectAndEvaluate(api);
  t.equal(next.run.status, 'complete');
  t.match(await findingOf(api, 's3.bucket_public_read', BUCKET), { status: 'resolved' });

  // 5. Rollback restores the previous setting (no public access block at all).
  // A rollback is a pending change: the proposer cannot approve it, a second officer does.
  const rolling = await api.call('POST', `/v1/remediations/${id}/rollback`, { as: 'compliance_officer', body: { comment: 'the site must be public after all' } });
  t.equal(rolling.status, 202, JSON.stringify(rolling.body));
  t.match(rolling.body, { status: 'pending', kind: 'remediations.rollback', entity_id: id });
  t.equal((await api.call('GET', `/v1/remediations/${id}`, { as: 'auditor' })).body.status, 'verified', 'nothing rolls back before approval');
  t.equal((await api.call('POST', `/v1/pending-changes/${rolling.body.id}/approve`, { as: 'compliance_officer', body: {} })).status, 403);
  await approvePending(api, rolling, { key: second });
  const rolledBack = await remediationIn(api, id, ['rolled_back', 'rollback_failed']);
  t.equal(rolledBack.status, 'rolled_back', JSON.stringify(rolledBack));
  t.match(rolledBack.resources, [{ status: 'rolled_back' }]);
  t.equal(await publicAccessBlock(), 'NoSuchPublicAccessBlockConfiguration', 'the bucket is as it was before');
  t.equal((await api.call('POST', `/v1/remediations/${id}/rollback`, { as: 'compliance_officer', body: {} })).status, 409, 'nothing left to roll back');
  await collectAndEvaluate(api);
  t.match(await findingOf(api, 's3.bucket_public_read', BUCKET), { status: 'open' }, 'and the finding is open again');
});
