/**
 * Collectors of the SOC 2 Phase-0 baseline whose AWS operations moto 5.2 lacks (or answers in a
 * shape the SDK refuses), tested at the SDK client boundary with aws-sdk-client-mock, answers shaped
 * as the AWS API reference gives them: IAM Access Analyzer ListAnalyzers (not in moto), Security
 * Hub GetEnabledStandards (not in moto), AWS Config DescribeDeliveryChannelStatus and
 * DescribeComplianceByConfigRule (not in moto), AWS Backup ListBackupSelections/GetBackupSelection
 * (not in moto), Macie GetMacieSession (moto's createdAt is not RFC 3339), and the IAM credential
 * report with keys and passwords older than moto can make them. Their rules are then evaluated by
 * the shipped bundle: one planted violation per rule, and a clean twin.
 */
import { AccessAnalyzerClient, ListAnalyzersCommand } from '@aws-sdk/client-accessanalyzer';
import { BackupClient, GetBackupPlanCommand, GetBackupSelectionCommand, ListBackupPlansCommand, ListBackupSelectionsCommand, ListBackupVaultsCommand } from '@aws-sdk/client-backup';
import {
  ConfigServiceClient,
  DescribeComplianceByConfigRuleCommand,
  DescribeConfigRulesCommand,
  DescribeConfigurationRecordersCommand,
  DescribeConfigurationRecorderStatusCommand,
  DescribeDeliveryChannelsCommand,
  DescribeDeliveryChannelStatusCommand,
  ListDiscoveredResourcesCommand,
} from '@aws-sdk/client-config-service';
import { GenerateCredentialReportCommand, GetAccountPasswordPolicyCommand, GetAccountSummaryCommand, GetCredentialReportCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetMacieSessionCommand, Macie2Client } from '@aws-sdk/client-macie2';
import { GetEnabledStandardsCommand, GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { PolicyEngine } from '../../src/policy/engine.js';
import { PolicyWorkers } from '../../src/policy/workers.js';
import { collectorContext } from '../../src/sources/aws.js';
import { COLLECTORS } from '../../src/sources/collectors/index.js';
import { parseCredentialReport } from '../../src/sources/collectors/iam.js';
import type { NormalisedResource } from '../../src/sources/types.js';
import { coverageInput, type CoverageRow } from '../../src/sources/coverage.js';
import { holdsAt } from '../../src/evaluation/time-bound.js';
import type { Violation } from '../../src/policy/input.js';
import { SHIPPED } from '../helpers/bundles.js';

const BAD = '111111111111';
const GOOD = '222222222222';
const REGION = 'eu-west-1';
const NOW = Math.floor(Date.now() / 1000);
const DAY = 86_400;
const iso = (secondsAgo: number) => new Date((NOW - secondsAgo) * 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
const context = (account: string) => collectorContext({ account, region: REGION }, { endpoint: 'http://127.0.0.1:9', now: NOW, maxAttempts: 1 });

function mocks(t: Test) {
  const clients = {
    analyzer: mockClient(AccessAnalyzerClient),
    hub: mockClient(SecurityHubClient),
    config: mockClient(ConfigServiceClient),
    backup: mockClient(BackupClient),
    macie: mockClient(Macie2Client),
    iam: mockClient(IAMClient),
  };
  t.teardown(() => Object.values(clients).forEach((c) => c.restore()));
  return clients;
}

const REPORT_HEADER =
  'user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated';
const reportRow = (user: string, account: string, o: { password: boolean; passwordUsed: string; mfa: boolean; key1: boolean; rotated: string; used: string }) =>
  [user, user === '<root_account>' ? `arn:aws:iam::${account}:root` : `arn:aws:iam::${account}:user/${user}`, iso(400 * DAY), o.password, o.passwordUsed, 'N/A', 'N/A', o.mfa, o.key1, o.rotated, o.used, 'N/A', 'N/A', false, 'N/A', 'N/A', 'N/A', 'N/A', false, 'N/A', false, 'N/A'].join(',');

async function collectBoth(t: Test) {
  const m = mocks(t);
  const ofAccount = async (account: string, bad: boolean) => {
    m.analyzer.reset().on(ListAnalyzersCommand).resolves({ analyzers: bad ? [] : [{ arn: `arn:aws:access-analyzer:${REGION}:${account}:analyzer/a`, name: 'a', type: 'ACCOUNT', status: 'ACTIVE', createdAt: new Date() }] });
    m.hub.reset();
    m.hub.on(GetEnabledStandardsCommand).resolves({
      StandardsSubscriptions: [
        { StandardsArn: `arn:aws:securityhub:${REGION}::standards/aws-foundational-security-best-practices/v/1.0.0`, StandardsSubscriptionArn: 's1', StandardsStatus: 'READY', StandardsInput: {} },
        ...(bad ? [] : [{ StandardsArn: 'arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0', StandardsSubscriptionArn: 's2', StandardsStatus: 'READY' as const, StandardsInput: {} }]),
      ],
    });
    m.hub.on(GetFindingsCommand).resolves({ Findings: [] });
    m.config.reset();
    m.config.on(DescribeConfigurationRecordersCommand).resolves({ ConfigurationRecorders: [{ name: 'default', recordingGroup: { allSupported: true, includeGlobalResourceTypes: true } }] });
    m.config.on(DescribeConfigurationRecorderStatusCommand).resolves({ ConfigurationRecordersStatus: [{ name: 'default', recording: true, lastStatus: 'Success' }] });
    m.config.on(DescribeDeliveryChannelsCommand).resolves({ DeliveryChannels: [{ name: 'default', s3BucketName: 'config' }] });
    m.config.on(DescribeDeliveryChannelStatusCommand).resolves({ DeliveryChannelsStatus: [{ name: 'default', configHistoryDeliveryInfo: { lastStatus: bad ? 'Failure' : 'Success' } }] });
    m.config.on(DescribeConfigRulesCommand).resolves({ ConfigRules: [{ ConfigRuleName: 'encrypted-volumes', ConfigRuleArn: 'arn:r1', Source: { Owner: 'AWS', SourceIdentifier: 'ENCRYPTED_VOLUMES' } }] });
    m.config.on(DescribeComplianceByConfigRuleCommand).resolves({
      ComplianceByConfigRules: [{ ConfigRuleName: 'encrypted-volumes', Compliance: { ComplianceType: bad ? 'NON_COMPLIANT' : 'COMPLIANT', ComplianceContributorCount: bad ? { CappedCount: 3, CapExceeded: false } : undefined } }],
    });
    m.config.on(ListDiscoveredResourcesCommand).resolves({ resourceIdentifiers: [] });
    m.backup.reset();
    m.backup.on(ListBackupVaultsCommand).resolves({ BackupVaultList: [{ BackupVaultName: 'vault', BackupVaultArn: `arn:aws:backup:${REGION}:${account}:backup-vault:vault`, Locked: !bad, MinRetentionDays: bad ? undefined : 35 }] });
    m.backup.on(ListBackupPlansCommand).resolves({ BackupPlansList: [{ BackupPlanId: 'plan-1', BackupPlanName: 'daily', BackupPlanArn: `arn:aws:backup:${REGION}:${account}:backup-plan:plan-1` }] });
    m.backup.on(GetBackupPlanCommand).resolves({ BackupPlan: { BackupPlanName: 'daily', Rules: [{ RuleName: 'daily', TargetBackupVaultName: 'vault' }] } });
    m.backup.on(ListBackupSelectionsCommand).resolves({ BackupSelectionsList: [{ SelectionId: 'sel-1', SelectionName: 'tables' }] });
    m.backup.on(GetBackupSelectionCommand).resolves({ BackupSelection: { SelectionName: 'tables', IamRoleArn: 'arn:role', Resources: [`arn:aws:dynamodb:${REGION}:${account}:table/*`] } });
    m.macie.reset();
    if (bad) m.macie.on(GetMacieSessionCommand).rejects(Object.assign(new Error('Macie is not enabled'), { name: 'AccessDeniedException' }));
    else m.macie.on(GetMacieSessionCommand).resolves({ status: 'ENABLED' });
    m.iam.reset();
    m.iam.on(GetAccountPasswordPolicyCommand).resolves({ PasswordPolicy: { MinimumPasswordLength: 14, RequireSymbols: true, RequireNumbers: true, RequireUppercaseCharacters: true, RequireLowercaseCharacters: true, PasswordReusePrevention: 24, MaxPasswordAge: 90 } });
    m.iam.on(GetAccountSummaryCommand).resolves({ SummaryMap: { AccountMFAEnabled: 1, AccountAccessKeysPresent: 0 } });
    m.iam.on(GenerateCredentialReportCommand).resolves({ State: 'COMPLETE' });
    const rows = bad
      ? [
          reportRow('<root_account>', account, { password: false, passwordUsed: 'N/A', mfa: true, key1: true, rotated: iso(10 * DAY), used: iso(DAY) }),
          reportRow('old-key', account, { password: false, passwordUsed: 'N/A', mfa: false, key1: true, rotated: iso(120 * DAY), used: iso(DAY) }),
          reportRow('idle', account, { password: true, passwordUsed: iso(100 * DAY), mfa: true, key1: false, rotated: 'N/A', used: 'N/A' }),
        ]
      : [
          reportRow('<root_account>', account, { password: false, passwordUsed: 'N/A', mfa: true, key1: false, rotated: 'N/A', used: 'N/A' }),
          reportRow('fresh', account, { password: true, passwordUsed: iso(DAY), mfa: true, key1: true, rotated: iso(30 * DAY), used: iso(DAY) }),
        ];
    m.iam.on(GetCredentialReportCommand).resolves({ Content: new TextEncoder().encode([REPORT_HEADER, ...rows].join('\n')), ReportFormat: 'text/csv' });

    const resources: NormalisedResource[] = [];
    const gaps: string[] = [];
    const coverage: CoverageRow[] = [];
    for (const name of ['accessanalyzer', 'securityhub', 'configrecorder', 'config', 'backup', 'macie', 'iam']) {
      const output = await COLLECTORS[name]!.collect(context(account));
      resources.push(...output.resources);
      gaps.push(...output.gaps);
      // What the collector listed, and how completely: the input carries it as a run's evaluation does.
      coverage.push(...output.coverage.map((c) => ({ account, region: REGION, service: name, resource_type: c.resource_type, complete: c.complete, reason: c.reason ?? null })));
    }
    // The catalog table both accounts hold, and a restricted bucket (for Macie), as listed completely.
    for (const resource_type of ['AWS::DynamoDB::Table', 'AWS::S3::Bucket']) coverage.push({ account, region: REGION, service: 'fixture', resource_type, complete: true, reason: null });
    resources.push({ type: 'AWS::DynamoDB::Table', id: 'investment_transactions', arn: `arn:aws:dynamodb:${REGION}:${account}:table/investment_transactions`, account, region: REGION, configuration: { point_in_time_recovery: true, sse_type: 'KMS', kms_key_arn: 'k' }, tags: { Environment: 'prod', CostCenter: 'c', Compliance: 'SOC2', DataClassification: 'Restricted' } });
    resources.push({ type: 'AWS::S3::Bucket', id: `docs-${account}`, account, region: REGION, configuration: {} });
    return { resources, gaps, coverage };
  };
  const bad = await ofAccount(BAD, true);
  const good = await ofAccount(GOOD, false);
  return { resources: [...bad.resources, ...good.resources], gaps: [...bad.gaps, ...good.gaps], coverage: coverageInput([...bad.coverage, ...good.coverage]) };
}

t.test('collectors at the SDK boundary, evaluated by the shipped bundle: exactly the planted violations', async (t) => {
  const { resources, gaps, coverage } = await collectBoth(t);
  t.same(gaps, [], 'every answer read');
  const catalog = {
    assets: [
      { store: 'dynamodb', database: 'wealth', table: 'investment_transactions', classification: 'confidential', domain: 'Investment', location: null, retention_policy: null, retention_days: null, columns: [] },
      ...[BAD, GOOD].map((a) => ({ store: 's3', database: `docs-${a}`, table: 'files/', classification: 'restricted', domain: 'Client', location: null, retention_policy: null, retention_days: null, columns: [] })),
    ],
    approved_grants: [],
  };
  const workers = new PolicyWorkers({ threads: 1 });
  t.teardown(() => workers.close());
  const engine = await PolicyEngine.load(workers, readFileSync(SHIPPED));
  const rules = new Set(['accessanalyzer.analyzer_present', 'securityhub.standards_enabled', 'config.delivery_channel', 'config.recorder_all_types', 'config.rule_noncompliant', 'backup.catalog_coverage', 'macie.restricted_data', 'iam.root_access_keys', 'iam.access_key_rotation', 'iam.unused_credentials', 'iam.user_mfa', 'iam.password_rotation']);
  const { result } = (await engine.evaluate('custos/compliance/violations', { now: NOW, resources, findings: [], lake_formation: { permissions: [] }, catalog, coverage })) as { result: Array<{ id: string; msg: string; resource: { account: string } }> };
  // What an evaluation reports at NOW: time-bound violations that begin later do not hold yet.
  const found = (result as Violation[]).filter((v) => rules.has(v.id) && holdsAt(v, NOW)).map((v) => `${v.id} | ${v.resource.account} | ${v.msg}`).sort();
  t.same(found, [
    `accessanalyzer.analyzer_present | ${BAD} | account ${BAD} has no active IAM Access Analyzer analyzer in the regions collected (${REGION})`,
    `backup.catalog_coverage | ${BAD} | AWS::DynamoDB::Table investment_transactions holds catalogued data and no backup plan with a locked vault selects it`,
    `config.delivery_channel | ${BAD} | AWS Config delivery channel in account ${BAD} region ${REGION} last delivery: Failure`,
    `config.rule_noncompliant | ${BAD} | AWS Config rule encrypted-volumes (ENCRYPTED_VOLUMES) is NON_COMPLIANT (3 resources)`,
    `iam.access_key_rotation | ${BAD} | access key 1 of IAM user old-key was not rotated within 90 days`,
    `iam.root_access_keys | ${BAD} | root user of account ${BAD} has access keys`,
    `iam.unused_credentials | ${BAD} | console password of IAM user idle not used for 90 days`,
    `macie.restricted_data | ${BAD} | Macie is not enabled in account ${BAD} region ${REGION} where buckets hold restricted data: docs-${BAD}`,
    `securityhub.standards_enabled | ${BAD} | Security Hub in account ${BAD} region ${REGION} lacks CIS AWS Foundations Benchmark`,
  ]);
});

t.test('a failed read leaves the region unjudged (a gap, no resource), never compliant', async (t) => {
  const m = mocks(t);
  m.analyzer.on(ListAnalyzersCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));
  m.backup.on(ListBackupVaultsCommand).resolves({ BackupVaultList: [] });
  m.backup.on(ListBackupPlansCommand).resolves({ BackupPlansList: [{ BackupPlanId: 'p' }] });
  m.backup.on(GetBackupPlanCommand).resolves({ BackupPlan: { BackupPlanName: 'p', Rules: [] } });
  m.backup.on(ListBackupSelectionsCommand).rejects(Object.assign(new Error('boom'), { name: 'ServiceUnavailableException', $metadata: { httpStatusCode: 503 } }));
  m.config.on(DescribeConfigurationRecordersCommand).resolves({ ConfigurationRecorders: [] });
  m.config.on(DescribeConfigurationRecorderStatusCommand).resolves({ ConfigurationRecordersStatus: [] });
  m.config.on(DescribeDeliveryChannelsCommand).resolves({ DeliveryChannels: [{ name: 'd' }] });
  m.config.on(DescribeDeliveryChannelStatusCommand).rejects(Object.assign(new Error('nope'), { name: 'InternalFailure', $metadata: { httpStatusCode: 500 } }));
  for (const [name, operation] of [['accessanalyzer', 'access-analyzer:ListAnalyzers'], ['backup', 'backup:ListBackupSelections (p)'], ['configrecorder', 'config:DescribeDeliveryChannelStatus']] as const) {
    const output = await COLLECTORS[name]!.collect(context(BAD));
    t.equal(output.resources.filter((r) => r.type.endsWith('RegionalSettings') || r.type.endsWith('ConfigurationRecorder')).length, 0, `${name}: nothing judged`);
    t.match(output.gaps, [new RegExp(`^${operation.replace(/[()]/g, '\\$&')}: `)], name);
  }
});

t.test('the credential report: root keys, users, times (N/A, no_information, not_supported are none)', async (t) => {
  const report = parseCredentialReport(
    [
      REPORT_HEADER,
      reportRow('<root_account>', BAD, { password: false, passwordUsed: 'not_supported', mfa: true, key1: true, rotated: '2026-01-01T00:00:00+00:00', used: 'N/A' }),
      reportRow('alice', BAD, { password: true, passwordUsed: 'no_information', mfa: false, key1: false, rotated: 'N/A', used: 'N/A' }),
    ].join('\n'),
  );
  t.equal(report.rootAccessKeys, true);
  t.same(report.users.map((u) => [u.name, u.configuration.password_enabled, u.configuration.password_last_used, u.configuration.mfa_active, u.configuration.access_keys]), [['alice', true, null, false, []]]);
});
