/**
 * What moto lacks, tested at the SDK client boundary with aws-sdk-client-mock: Security Hub's
 * BatchUpdateFindings and AWS Config's remediation APIs (PutRemediationConfigurations,
 * StartRemediationExecution, DescribeRemediationConfigurations, DescribeRemediationExecutionStatus)
 * are not implemented by moto 5.2. Request and answer shapes follow the AWS API reference. The
 * workflow around them (plans, approvals, jobs, audit, evidence) is the real one, on PostgreSQL.
 * Also here: problem+json for bad input and role checks, on the demo estate imported from a file.
 */
import {
  ConfigServiceClient,
  DescribeRemediationConfigurationsCommand,
  DescribeRemediationExecutionStatusCommand,
  PutRemediationConfigurationsCommand,
  StartRemediationExecutionCommand,
} from '@aws-sdk/client-config-service';
import { BatchUpdateFindingsCommand, GetFindingsCommand, SecurityHubClient, type BatchUpdateFindingsCommandInput } from '@aws-sdk/client-securityhub';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { loadDemoData } from '../../src/demo/load.js';
import { checkParams } from '../../src/remediation/planning.js';
import { configRemediation } from '../../src/remediation/actions/config-remediation.js';
import { approvePending, testApp, type TestApp, waitFor } from '../helpers/app.js';
import { remediationIn } from './helpers.js';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const SLA_FINDING = `arn:aws:securityhub:${REGION}:${ACCOUNT}:subscription/aws-foundational-security-best-practices/v/1.0.0/S3.2/finding/0001`;
const PRODUCT_ARN = `arn:aws:securityhub:${REGION}::product/aws/securityhub`;

/** Every remediation checks its identity with STS first (src/sources/identity.ts): here STS is mocked too, answering the source's account. */
function stsAnswers(t: Test, account: string) {
  const sts = mockClient(STSClient);
  sts.on(GetCallerIdentityCommand).resolves({ Account: account, Arn: `arn:aws:sts::${account}:assumed-role/custos/custos-remediation` });
  t.teardown(() => sts.restore());
}

async function demoEstate(t: Test): Promise<TestApp> {
  const api = await testApp(t, { config: { awsEndpointUrl: 'http://127.0.0.1:9', awsMaxAttempts: 1 } });
  await loadDemoData(api.app.db);
  const run = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot: wealthEstate } });
  await waitFor(async () => (await api.call('GET', `/v1/evaluations?collection_id=${run.body.id}`)).body.items.find((e: { status: string }) => e.status === 'complete'), 'evaluation');
  return api;
}
const findingId = async (api: TestApp, rule: string, resource?: string) =>
  (await api.call('GET', `/v1/findings?rule=${rule}${resource ? `&resource=${encodeURIComponent(resource)}` : ''}`)).body.items[0].id as string;

t.test('bad input is a 4xx problem naming the field; roles are checked', async (t) => {
  const api = await demoEstate(t);
  const sla = await findingId(api, 'securityhub.finding_sla', SLA_FINDING);
  const post = (body: unknown, as: 'compliance_officer' | 'steward' = 'compliance_officer') => api.call('POST', '/v1/remediations', { as, body });
  const field = async (body: unknown) => {
    const r = await post(body);
    t.equal(r.status, 400, JSON.stringify(r.body));
    t.match(r.headers['content-type'], /application\/problem\+json/);
    return r.body.errors?.[0]?.field as string;
  };
  t.equal(await field({}), 'finding_id', 'neither finding_id nor rule_id');
  t.equal(await field({ finding_id: sla, rule_id: 'securityhub.finding_sla' }), 'rule_id', 'both');
  t.equal(await field({ finding_id: 'not-a-uuid' }), 'finding_id');
  t.equal(await field({ finding_id: randomUUID() }), 'finding_id', 'a finding that does not exist');
  t.equal(await field({ finding_id: sla, surprise: true }), 'surprise');
  t.equal(await field({ finding_id: sla, region: REGION }), 'region', 'scope fields only with rule_id');
  const unknown = await post({ finding_id: sla, action: 'delete_bucket' });
  t.equal(unknown.status, 400);
  t.match(unknown.body.detail, /unknown remediation action "delete_bucket"; valid actions: s3_block_public_access, .*config_remediation/);
  t.equal(await field({ finding_id: sla, action: 's3_enable_versioning' }), 'action', "another rule's action");
  t.equal(await field({ rule_id: 's3.bucket_kms_encryption', params: {} }), 'params.kms_key_id', 'a missing parameter');
  t.equal(await field({ rule_id: 's3.bucket_kms_encryption', params: { kms_key_id: 'k', extra: 1 } }), 'params.extra', 'an unknown parameter');
  t.equal(await field({ rule_id: 'catalog.pii_masking' }), 'action', 'a rule without a remediation action');
  t.equal(await field({ finding_id: sla, action: 'config_remediation', params: { target_id: 'AWS-X' } }), 'params.config_rule_name');
  t.match(await post({ finding_id: sla }), { status: 400, body: { errors: [{ field: 'finding_id', message: /no enabled source covers account 111122223333/ }] } }, 'no source: fail closed');
  t.equal((await post({ rule_id: 'no.such_rule' })).status, 409);

  t.equal((await post({ finding_id: sla }, 'steward')).status, 403);
  t.equal((await api.call('GET', '/v1/remediations', { as: 'pipeline' })).status, 403);
  t.equal((await api.call('GET', '/v1/remediations', { as: 'auditor' })).status, 200);
  t.equal((await api.call('GET', `/v1/remediations/${randomUUID()}`)).status, 404);
  t.equal((await api.call('GET', '/v1/remediations/nope')).status, 400);
  t.equal((await api.call('GET', '/v1/remediations?status=done')).status, 400);
  t.equal((await api.call('POST', `/v1/remediations/${randomUUID()}/approve`, { body: {} })).status, 404);
  t.equal((await api.call('POST', `/v1/remediations/${randomUUID()}/execute`, { body: { now: true } })).status, 400);
  const actions = await api.call('GET', '/v1/remediation-actions', { as: 'auditor' });
  t.same(actions.body.items.map((a: { name: string; risk: string; rollback: boolean }) => [a.name, a.risk, a.rollback]), [
    ['s3_block_public_access', 'low', true],
    ['s3_default_encryption_kms', 'high', true],
    ['s3_enable_versioning', 'low', true],
    ['lakeformation_revoke', 'high', true],
    ['securityhub_workflow_update', 'low', true],
    ['config_remediation', 'high', false],
  ]);
  t.equal(await api.app.db('remediations').count('* as n').first().then((r) => Number(r!.n)), 0, 'nothing was stored by refused requests');
});

t.test('Security Hub (BatchUpdateFindings, not in moto): NOTIFIED with a note at start, RESOLVED after verify, rollback restores NEW', async (t) => {
  const api = await demoEstate(t);
  await api.call('POST', '/v1/sources', { as: 'compliance_officer', body: { name: 'wealth-prod', account_id: ACCOUNT, region: REGION, services: ['securityhub'] } });
  const hub = mockClient(SecurityHubClient);
  t.teardown(() => hub.restore());
  stsAnswers(t, ACCOUNT);
  let status = 'NEW';
  const updates: BatchUpdateFindingsCommandInput[] = [];
  hub.on(GetFindingsCommand).callsFake(async (input) => ({
    Findings: [{ Id: input.Filters.Id[0].Value, ProductArn: PRODUCT_ARN, Workflow: { Status: status } }],
    $metadata: {},
  }));
  hub.on(BatchUpdateFindingsCommand).callsFake(async (input: BatchUpdateFindingsCommandInput) => {
    updates.push(input);
    status = input.Workflow!.Status!;
    return { ProcessedFindings: input.FindingIdentifiers, UnprocessedFindings: [], $metadata: { requestId: `req-${updates.length}` } };
  });

  const planned = await api.call('POST', '/v1/remediations', { as: 'compliance_officer', body: { finding_id: await findingId(api, 'securityhub.finding_sla', SLA_FINDING), params: { note: 'owner: platform team' } } });
  t.equal(planned.status, 201, JSON.stringify(planned.body));
  const id = planned.body.id;
  t.same([planned.body.resources[0].before, planned.body.resources[0].after], [
    { product_arn: PRODUCT_ARN, workflow_status: 'NEW' },
    { product_arn: PRODUCT_ARN, workflow_status: 'RESOLVED' },
  ]);
  t.same(updates, [], 'the dry run updates nothing');
  t.equal((await api.call('POST', `/v1/remediations/${id}/approve`, { as: 'admin', body: {} })).status, 200);
  t.equal((await api.call('POST', `/v1/remediations/${id}/execute`, { as: 'compliance_officer', body: {} })).status, 202);
  const done = await remediationIn(api, id, ['verified', 'failed', 'partially_applied']);
  t.equal(done.status, 'verified', JSON.stringify(done.resources));
  t.same(
    updates.map((u) => [u.FindingIdentifiers, u.Workflow, u.Note!.UpdatedBy]),
    [
      [[{ Id: SLA_FINDING, ProductArn: PRODUCT_ARN }], { Status: 'NOTIFIED' }, 'custos'],
      [[{ Id: SLA_FINDING, ProductArn: PRODUCT_ARN }], { Status: 'RESOLVED' }, 'custos'],
    ],
  );
  t.match(updates[0]!.Note!.Text, new RegExp(`^Custos remediation ${id}: remediation started — owner: platform team$`));
  t.match(updates[1]!.Note!.Text, /remediation verified/);
  t.same(done.steps.map((s: { step: string; status: string }) => `${s.step}:${s.status}`), ['apply:succeeded', 'verify:succeeded', 'finalize:succeeded']);
  t.same(done.resources[0].aws_request_ids, ['req-1', 'req-2']);

  await approvePending(api, await api.call('POST', `/v1/remediations/${id}/rollback`, { as: 'compliance_officer', body: {} }));
  t.equal((await remediationIn(api, id, ['rolled_back', 'rollback_failed'])).status, 'rolled_back');
  t.same(updates.at(-1)!.Workflow, { Status: 'NEW' });

  // A finding Security Hub refuses to update comes back in UnprocessedFindings with HTTP 200: a failure.
  status = 'NEW';
  hub.on(BatchUpdateFindingsCommand).resolves({ ProcessedFindings: [], UnprocessedFindings: [{ FindingIdentifier: { Id: SLA_FINDING, ProductArn: PRODUCT_ARN }, ErrorCode: 'FindingNotFound', ErrorMessage: 'gone' }] });
  const again = await api.call('POST', '/v1/remediations', { as: 'compliance_officer', body: { finding_id: await findingId(api, 'securityhub.finding_sla', SLA_FINDING) } });
  t.equal(again.status, 201, JSON.stringify(again.body));
  await api.call('POST', `/v1/remediations/${again.body.id}/approve`, { as: 'admin', body: {} });
  await api.call('POST', `/v1/remediations/${again.body.id}/execute`, { as: 'compliance_officer', body: {} });
  const failed = await remediationIn(api, again.body.id, ['failed', 'verified', 'partially_applied']);
  t.equal(failed.status, 'failed');
  t.match(failed.resources[0].error, /FindingNotFound.*gone/);
});

t.test('AWS Config managed remediation (remediation APIs not in moto): configuration put once, execution started, verified only when SUCCEEDED', async (t) => {
  const config = mockClient(ConfigServiceClient);
  t.teardown(() => config.restore());
  stsAnswers(t, ACCOUNT);
  const context = {
    db: undefined as never,
    source: { id: randomUUID(), name: 'wealth-prod', account_id: ACCOUNT, region: REGION, role_arn: null },
    aws: { endpoint: 'http://127.0.0.1:9', maxAttempts: 1 },
    params: { config_rule_name: 's3-bucket-server-side-encryption-enabled', target_id: 'AWS-EnableS3BucketEncryption', parameters: { SSEAlgorithm: 'aws:kms', BucketName: 'wealth-account-statements' } },
    remediationId: randomUUID(),
  };
  const target = { resource_type: 'AWS::S3::Bucket', resource_id: 'wealth-account-statements', account: ACCOUNT, region: REGION };
  let state: string | undefined;
  config.on(DescribeRemediationConfigurationsCommand).resolves({ RemediationConfigurations: [] });
  config.on(DescribeRemediationExecutionStatusCommand).callsFake(async () => ({ RemediationExecutionStatuses: state ? [{ ResourceKey: { resourceType: 'AWS::S3::Bucket', resourceId: target.resource_id }, State: state }] : [] }));
  config.on(PutRemediationConfigurationsCommand).resolves({ FailedBatches: [], $metadata: { requestId: 'put-1' } });
  config.on(StartRemediationExecutionCommand).resolves({ FailedItems: [], $metadata: { requestId: 'start-1' } });

  t.doesNotThrow(() => checkParams(configRemediation, context.params));
  t.throws(() => checkParams(configRemediation, { target_id: 'x' }), { status: 400, errors: [{ field: 'params.config_rule_name' }] });
  const change = await configRemediation.plan(context, target);
  t.same(change, {
    before: { remediation_configuration: null, execution_state: null },
    after: { remediation_configuration: { target_id: 'AWS-EnableS3BucketEncryption', target_version: null, parameters: { BucketName: 'wealth-account-statements', SSEAlgorithm: 'aws:kms' } }, execution_state: 'SUCCEEDED' },
  });
  t.same(await configRemediation.apply(context, target, change), { requestIds: ['put-1', 'start-1'] });
  t.same(config.commandCalls(PutRemediationConfigurationsCommand)[0]!.args[0].input, {
    RemediationConfigurations: [
      {
        ConfigRuleName: 's3-bucket-server-side-encryption-enabled',
        TargetType: 'SSM_DOCUMENT',
        TargetId: 'AWS-EnableS3BucketEncryption',
        Parameters: { BucketName: { StaticValue: { Values: ['wealth-account-statements'] } }, SSEAlgorithm: { StaticValue: { Values: ['aws:kms'] } } },
        Automatic: false,
      },
    ],
  });
  t.same(config.commandCalls(StartRemediationExecutionCommand)[0]!.args[0].input, {
    ConfigRuleName: 's3-bucket-server-side-encryption-enabled',
    ResourceKeys: [{ resourceType: 'AWS::S3::Bucket', resourceId: 'wealth-account-statements' }],
  });
  state = 'IN_PROGRESS';
  t.equal(configRemediation.applied(await configRemediation.read(context, target), change), true, 'started counts as applied: a resumed job does not start it again');
  t.equal(await configRemediation.verify(context, target, change), false, 'not verified while in progress');
  state = 'SUCCEEDED';
  t.equal(await configRemediation.verify(context, target, change), true);
  t.equal(configRemediation.rollback, undefined, 'an SSM automation cannot be undone');

  // The configuration already in place is not put again; a refused start is an error.
  config.on(DescribeRemediationConfigurationsCommand).resolves({
    RemediationConfigurations: [
      { ConfigRuleName: 's3-bucket-server-side-encryption-enabled', TargetType: 'SSM_DOCUMENT', TargetId: 'AWS-EnableS3BucketEncryption', Parameters: { SSEAlgorithm: { StaticValue: { Values: ['aws:kms'] } }, BucketName: { StaticValue: { Values: ['wealth-account-statements'] } } } },
    ],
  });
  state = 'FAILED';
  const second = await configRemediation.plan(context, target);
  t.same(second.before, { remediation_configuration: change.after.remediation_configuration, execution_state: 'FAILED' });
  config.on(StartRemediationExecutionCommand).resolves({ FailedItems: [{ resourceType: 'AWS::S3::Bucket', resourceId: target.resource_id }], FailureMessage: 'document not found' });
  await t.rejects(configRemediation.apply(context, target, second), /StartRemediationExecution failed: document not found/);
  t.equal(config.commandCalls(PutRemediationConfigurationsCommand).length, 1, 'not put a second time');
});
