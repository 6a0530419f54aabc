/**
 * The SOC 2 Phase-0 baseline (issue 17) as a hidden-estate test on moto: an organization of two
 * member accounts reached through AssumeRole, one (PLANTED) with one violation planted per rule moto
 * can reproduce, its twin (CLEAN) configured right. The collectors read both through their role,
 * the shipped bundle evaluates, and the new rules must report exactly the planted violations.
 * Rules whose AWS APIs moto lacks are tested in baseline-sdk-boundary.test.ts.
 */
import { CreateDBClusterCommand, CreateDBClusterParameterGroupCommand, ModifyDBClusterParameterGroupCommand, RDSClient } from '@aws-sdk/client-rds';
import { CloudWatchLogsClient, CreateLogGroupCommand, PutRetentionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ConfigServiceClient, PutConfigurationRecorderCommand, PutDeliveryChannelCommand, StartConfigurationRecorderCommand } from '@aws-sdk/client-config-service';
import { CreateTableCommand, DynamoDBClient, UpdateContinuousBackupsCommand } from '@aws-sdk/client-dynamodb';
import { CreateFlowLogsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateDetectorCommand, GuardDutyClient } from '@aws-sdk/client-guardduty';
import { CreateLoginProfileCommand, CreateUserCommand, IAMClient, UpdateAccountPasswordPolicyCommand } from '@aws-sdk/client-iam';
import { CreateAccountCommand, CreateOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { CreateBucketCommand, PutBucketPolicyCommand, PutBucketTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { PutPublicAccessBlockCommand, S3ControlClient } from '@aws-sdk/client-s3-control';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { holdsAt } from '../../src/evaluation/time-bound.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import type { Violation } from '../../src/policy/input.js';
import { PolicyWorkers } from '../../src/policy/workers.js';
import { collectorContext } from '../../src/sources/aws.js';
import { coverageInput, type CoverageRow } from '../../src/sources/coverage.js';
import { COLLECTORS } from '../../src/sources/collectors/index.js';
import { s3ControlConfig } from '../../src/sources/collectors/s3account.js';
import type { CollectorContext } from '../../src/sources/types.js';
import { SHIPPED } from '../helpers/bundles.js';
import { motoClient, motoSkip, startMoto } from '../helpers/moto.js';

const REGION = 'us-east-1';
// Not macie: moto 5.2's GetMacieSession answers a createdAt the SDK refuses (not RFC 3339), so Macie
// is tested at the SDK boundary (baseline-sdk-boundary.test.ts), like the services moto lacks.
const SERVICES = ['guardduty', 'vpc', 'logs', 'iam', 's3account', 's3', 'rds', 'dynamodb', 'secretsmanager', 'configrecorder'];
const TAGS = { Environment: 'prod', CostCenter: 'trading-platform', Compliance: 'SOC2', DataClassification: 'Restricted' };
const tagList = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
const tlsPolicy = (bucket: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }],
  });

/** Rules of issue 17 (the ones this test can plant on moto). */
const NEW_RULES = new Set([
  'guardduty.detector_enabled', 'macie.restricted_data', 'ec2.vpc_flow_logs', 'logs.audit_retention', 'logs.retention_set', 'iam.user_mfa', 'iam.password_rotation',
  's3.account_public_access_block', 's3.bucket_tls_only', 'tags.mandatory', 'tags.classification_floor', 'rds.force_ssl', 'dynamodb.pitr', 'dynamodb.kms_encryption',
  'secretsmanager.rotation', 'config.recorder_all_types', 'config.delivery_channel', 'iam.root_access_keys', 'iam.access_key_rotation', 'iam.unused_credentials',
  'accessanalyzer.analyzer_present', 'securityhub.standards_enabled', 'config.rule_noncompliant', 'backup.catalog_coverage',
]);

async function plant(context: CollectorContext, account: string, clean: boolean) {
  const aws = { ...context.aws };
  const p = clean ? 'b' : 'a';
  if (clean) await new GuardDutyClient(aws).send(new CreateDetectorCommand({ Enable: true }));
  if (clean) {
    const ec2 = new EC2Client(aws);
    for (const vpc of (await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? []) {
      await ec2.send(new CreateFlowLogsCommand({ ResourceIds: [vpc.VpcId!], ResourceType: 'VPC', TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs', LogGroupName: '/vpc/flow', DeliverLogsPermissionArn: `arn:aws:iam::${account}:role/flow` }));
    }
  }
  const logs = new CloudWatchLogsClient(aws);
  await logs.send(new CreateLogGroupCommand({ logGroupName: `/aws/cloudtrail/${p}` }));
  await logs.send(new PutRetentionPolicyCommand({ logGroupName: `/aws/cloudtrail/${p}`, retentionInDays: clean ? 2557 : 365 }));
  await logs.send(new CreateLogGroupCommand({ logGroupName: `app-${p}` }));
  if (clean) await logs.send(new PutRetentionPolicyCommand({ logGroupName: `app-${p}`, retentionInDays: 30 }));

  const iam = new IAMClient(aws);
  await iam.send(new UpdateAccountPasswordPolicyCommand({ MinimumPasswordLength: 14, RequireSymbols: true, RequireNumbers: true, RequireUppercaseCharacters: true, RequireLowercaseCharacters: true, PasswordReusePrevention: clean ? 24 : 5, MaxPasswordAge: 90 }));
  await iam.send(new CreateUserCommand({ UserName: `${p}-user` }));
  if (!clean) await iam.send(new CreateLoginProfileCommand({ UserName: `${p}-user`, Password: 'Correct-Horse-1-Battery' }));

  if (clean) {
    await new S3ControlClient(s3ControlConfig(context)).send(
      new PutPublicAccessBlockCommand({ AccountId: account, PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true } }),
    );
  }
  const s3 = new S3Client({ ...aws, forcePathStyle: true });
  const buckets: Array<[string, Record<string, string>, boolean]> = clean
    ? [[`${p}-docs`, TAGS, true]]
    : [[`${p}-docs`, TAGS, false], [`${p}-untagged`, { Environment: 'prod' }, true], [`${p}-lowtag`, { ...TAGS, DataClassification: 'Internal' }, true]];
  for (const [Bucket, tags, tls] of buckets) {
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: tagList(tags) } }));
    if (tls) await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: tlsPolicy(Bucket) }));
  }

  const rds = new RDSClient(aws);
  await rds.send(new CreateDBClusterParameterGroupCommand({ DBClusterParameterGroupName: `${p}-pg`, DBParameterGroupFamily: 'aurora-postgresql15', Description: 'custos test' }));
  await rds.send(new ModifyDBClusterParameterGroupCommand({ DBClusterParameterGroupName: `${p}-pg`, Parameters: [{ ParameterName: 'rds.force_ssl', ParameterValue: clean ? '1' : '0', ApplyMethod: 'immediate' }] }));
  await rds.send(
    new CreateDBClusterCommand({ DBClusterIdentifier: `${p}-cluster`, Engine: 'aurora-postgresql', MasterUsername: 'custos', MasterUserPassword: 'Correct-Horse-1', DBClusterParameterGroupName: `${p}-pg`, StorageEncrypted: true, Tags: tagList(TAGS) }),
  );

  const ddb = new DynamoDBClient(aws);
  await ddb.send(
    new CreateTableCommand({
      TableName: `${p}-tx`, KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST',
      ...(clean ? { SSESpecification: { Enabled: true, SSEType: 'KMS' } } : {}), Tags: tagList(TAGS),
    }),
  );
  if (clean) await ddb.send(new UpdateContinuousBackupsCommand({ TableName: `${p}-tx`, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }));

  // moto's RotateSecret needs a Lambda function it can find; the clean twin of this rule is in its Rego test.
  if (!clean) await new SecretsManagerClient(aws).send(new CreateSecretCommand({ Name: `${p}-secret`, SecretString: 'x', Tags: tagList(TAGS) }));

  const config = new ConfigServiceClient(aws);
  await config.send(
    new PutConfigurationRecorderCommand({ ConfigurationRecorder: { name: 'default', roleARN: `arn:aws:iam::${account}:role/config`, recordingGroup: { allSupported: clean, includeGlobalResourceTypes: clean, resourceTypes: clean ? [] : ['AWS::S3::Bucket'] } } }),
  );
  if (clean) {
    await s3.send(new CreateBucketCommand({ Bucket: `${p}-config` }));
    await s3.send(new PutBucketTaggingCommand({ Bucket: `${p}-config`, Tagging: { TagSet: tagList(TAGS) } }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: `${p}-config`, Policy: tlsPolicy(`${p}-config`) }));
    await config.send(new PutDeliveryChannelCommand({ DeliveryChannel: { name: 'default', s3BucketName: `${p}-config` } }));
    await config.send(new StartConfigurationRecorderCommand({ ConfigurationRecorderName: 'default' }));
  }
}

t.test('a moto organization: one planted violation per rule in one account, a clean twin in another; exactly the planted findings', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const org = new OrganizationsClient(motoClient(moto.endpoint));
  await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const created = [];
  for (const name of ['planted', 'clean']) created.push((await org.send(new CreateAccountCommand({ AccountName: name, Email: `${name}@bank.example` }))).CreateAccountStatus!.AccountId!);
  const [PLANTED, CLEAN] = created as [string, string];
  const context = (account: string) => collectorContext({ account, region: REGION, roleArn: `arn:aws:iam::${account}:role/OrganizationAccountAccessRole` }, { endpoint: moto.endpoint, now: Math.floor(Date.now() / 1000), maxAttempts: 2 });
  await plant(context(PLANTED), PLANTED, false);
  await plant(context(CLEAN), CLEAN, true);

  const resources = [];
  const gaps: string[] = [];
  const coverage: CoverageRow[] = [];
  for (const account of [PLANTED, CLEAN]) {
    for (const service of SERVICES) {
      const output = await COLLECTORS[service]!.collect(context(account));
      resources.push(...output.resources);
      gaps.push(...output.gaps.map((g) => `${account}/${service}: ${g}`));
      // What the collector listed, and how completely: the input carries it as a run's evaluation does.
      coverage.push(...output.coverage.map((c) => ({ account, region: REGION, service, resource_type: c.resource_type, complete: c.complete, reason: c.reason ?? null })));
    }
  }
  // moto lacks DescribeDeliveryChannelStatus: only the clean twin has a channel, so only its
  // recorder is left unjudged, with a gap saying why.
  t.equal(gaps.length, 1, gaps.join('\n'));
  t.match(gaps[0], new RegExp(`^${CLEAN}/configrecorder: config:DescribeDeliveryChannelStatus answered HTTP 500 .*the endpoint may not implement this operation`));

  const catalog = {
    assets: ['a-docs', 'a-lowtag', 'b-docs'].map((bucket) => ({ store: 's3', database: bucket, table: 'files/', classification: 'restricted', domain: 'Client', location: `s3://${bucket}/files/`, retention_policy: null, retention_days: null, columns: [] })),
    approved_grants: [],
  };
  const workers = new PolicyWorkers({ threads: 1 });
  t.teardown(() => workers.close());
  const engine = await PolicyEngine.load(workers, readFileSync(SHIPPED));
  const now = Math.floor(Date.now() / 1000);
  const { result } = (await engine.evaluate('custos/compliance/violations', { now, resources, findings: [], lake_formation: { permissions: [] }, catalog, coverage: coverageInput(coverage) })) as { result: Violation[] };
  // What an evaluation reports now: a user created a moment ago has 90 days before its unused password counts.
  const found = result.filter((v) => NEW_RULES.has(v.id) && holdsAt(v, now)).map((v) => `${v.id} | ${v.resource.account} | ${v.msg}`).sort();
  const A = PLANTED;
  t.same(found, [
    `config.delivery_channel | ${A} | AWS Config in account ${A} region ${REGION} has no delivery channel`,
    `config.recorder_all_types | ${A} | AWS Config recorder in account ${A} region ${REGION}: no global types, not all supported types, not recording`,
    `dynamodb.kms_encryption | ${A} | DynamoDB table a-tx is not encrypted with a KMS key (DEFAULT)`,
    `dynamodb.pitr | ${A} | DynamoDB table a-tx has no point-in-time recovery`,
    `ec2.vpc_flow_logs | ${A} | VPC ${resources.find((r) => r.type === 'AWS::EC2::VPC' && r.account === A)!.id} has no active flow log`,
    `guardduty.detector_enabled | ${A} | GuardDuty has no enabled detector in account ${A} region ${REGION}`,
    `iam.password_rotation | ${A} | password policy of account ${A} does not prevent reuse of the last 24 passwords`,
    `iam.user_mfa | ${A} | IAM user a-user of account ${A} can sign in to the console without MFA`,
    `logs.audit_retention | ${A} | log group /aws/cloudtrail/a keeps audit data 365 days, less than 7 years (2557)`,
    `logs.retention_set | ${A} | log group app-a has no retention setting (never expires)`,
    `rds.force_ssl | ${A} | database a-cluster does not force SSL connections`,
    `s3.account_public_access_block | ${A} | account ${A} S3 Block Public Access is off: block_public_acls, ignore_public_acls, block_public_policy, restrict_public_buckets`,
    `s3.bucket_tls_only | ${A} | bucket a-docs does not deny requests without TLS`,
    `secretsmanager.rotation | ${A} | secret a-secret has no automatic rotation`,
    `tags.classification_floor | ${A} | AWS::S3::Bucket a-lowtag is tagged DataClassification=Internal but holds restricted data`,
    `tags.mandatory | ${A} | AWS::S3::Bucket a-untagged lacks the mandatory tags CostCenter, Compliance, DataClassification`,
  ]);
});
