/**
 * The paths moto (the emulator of collectors.test.ts) lacks or cannot show, tested at the SDK client
 * boundary with aws-sdk-client-mock. The answers follow the shapes of the AWS API reference
 * (already deserialised, as the SDK hands them over). Each test names the moto gap it covers.
 */
import {
  ConfigServiceClient,
  DescribeComplianceByConfigRuleCommand,
  DescribeConfigRulesCommand,
  DescribeConfigurationRecorderStatusCommand,
  ListDiscoveredResourcesCommand,
} from '@aws-sdk/client-config-service';
import { DescribeKeyCommand, GetKeyRotationStatusCommand, KMSClient, ListKeysCommand, UnsupportedOperationException } from '@aws-sdk/client-kms';
import {
  AccessDeniedException,
  EntityNotFoundException,
  GetDataLakeSettingsCommand,
  GetLFTagExpressionCommand,
  GetResourceLFTagsCommand,
  LakeFormationClient,
  ListLFTagsCommand,
  ListPermissionsCommand,
} from '@aws-sdk/client-lakeformation';
import { GetEnabledStandardsCommand, GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { mockClient } from 'aws-sdk-client-mock';
import t from 'tap';
import { COLLECTORS } from '../../src/sources/collectors/index.js';
import { collectorContext } from '../../src/sources/aws.js';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const context = (since?: number) =>
  collectorContext({ account: ACCOUNT, region: REGION }, { endpoint: 'http://127.0.0.1:9', now: 1_795_000_000, since, maxAttempts: 1 });
const base = { account: ACCOUNT, region: REGION };

/**
 * An answer by page: `first` for the call without a token, then the page each token names. `sent`
 * records the token of every call (the SDK's paginators reuse one input object, so the calls that
 * aws-sdk-client-mock records all show the last token).
 */
function paged<O>(first: O, next: Record<string, O>, sent: Array<string | undefined>) {
  return (input: { NextToken?: string; nextToken?: string }) => {
    const token = input.NextToken ?? input.nextToken;
    sent.push(token);
    return Promise.resolve(token === undefined ? first : next[token]!);
  };
}

t.test('config: DescribeComplianceByConfigRule (moto: not implemented, HTTP 500), all pages; discovered counts for types moto has no Config backend for', async (t) => {
  const config = mockClient(ConfigServiceClient);
  t.teardown(() => config.restore());
  config.on(DescribeConfigurationRecorderStatusCommand).resolves({
    ConfigurationRecordersStatus: [
      {
        name: 'default',
        lastStartTime: new Date('2026-11-01T08:00:00Z'),
        recording: true,
        lastStatus: 'Success',
        lastStatusChangeTime: new Date('2026-11-17T23:55:00Z'),
      },
    ],
  });
  config
    .on(DescribeConfigRulesCommand)
    .resolves({ ConfigRules: [{ ConfigRuleName: 'encrypted-volumes', ConfigRuleArn: `arn:aws:config:${REGION}:${ACCOUNT}:config-rule/config-rule-abc123`, ConfigRuleState: 'ACTIVE', Source: { Owner: 'AWS', SourceIdentifier: 'ENCRYPTED_VOLUMES' } }] });
  const complianceTokens: Array<string | undefined> = [];
  config.on(DescribeComplianceByConfigRuleCommand).callsFake(
    paged(
      {
        ComplianceByConfigRules: [
          { ConfigRuleName: 'encrypted-volumes', Compliance: { ComplianceType: 'NON_COMPLIANT', ComplianceContributorCount: { CappedCount: 3, CapExceeded: false } } },
          { ConfigRuleName: 's3-bucket-versioning-enabled', Compliance: { ComplianceType: 'COMPLIANT' } },
        ],
        NextToken: 'page-2',
      },
      {
        'page-2': {
          ComplianceByConfigRules: [
            { ConfigRuleName: 'rds-storage-encrypted', Compliance: { ComplianceType: 'NON_COMPLIANT', ComplianceContributorCount: { CappedCount: 100, CapExceeded: true } } },
            { ConfigRuleName: 'cloudtrail-enabled', Compliance: { ComplianceType: 'INSUFFICIENT_DATA' } },
          ],
        },
      },
      complianceTokens,
    ),
  );
  const identifiers = (type: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ resourceType: type as never, resourceId: `${type}-${from + i}` }));
  config.on(ListDiscoveredResourcesCommand).resolves({ resourceIdentifiers: [] });
  config.on(ListDiscoveredResourcesCommand, { resourceType: 'AWS::S3::Bucket' }).resolves({ resourceIdentifiers: identifiers('AWS::S3::Bucket', 4) });
  const volumeTokens: Array<string | undefined> = [];
  config
    .on(ListDiscoveredResourcesCommand, { resourceType: 'AWS::EC2::Volume' })
    .callsFake(paged({ resourceIdentifiers: identifiers('AWS::EC2::Volume', 100), nextToken: 'volumes-2' }, { 'volumes-2': { resourceIdentifiers: identifiers('AWS::EC2::Volume', 17, 100) } }, volumeTokens));
  config.on(ListDiscoveredResourcesCommand, { resourceType: 'AWS::RDS::DBInstance' }).resolves({ resourceIdentifiers: identifiers('AWS::RDS::DBInstance', 2) });
  config.on(ListDiscoveredResourcesCommand, { resourceType: 'AWS::KMS::Key' }).resolves({ resourceIdentifiers: identifiers('AWS::KMS::Key', 5) });

  const output = await COLLECTORS.config!.collect(context());
  t.same(output, {
    // Issue 17: each rule DescribeConfigRules lists is a resource carrying Config's own verdict (rule
    // config.rule_noncompliant judges it); the compliance of rules it does not list is not invented.
    resources: [
      {
        type: 'AWS::Config::ConfigRule',
        id: 'encrypted-volumes',
        ...base,
        configuration: { owner: 'AWS', identifier: 'ENCRYPTED_VOLUMES', compliance: 'NON_COMPLIANT', non_compliant_resources: 3 },
        arn: `arn:aws:config:${REGION}:${ACCOUNT}:config-rule/config-rule-abc123`,
      },
    ],
    findings: [],
    permissions: [],
    gaps: [],
    coverage: [{ resource_type: 'AWS::Config::ConfigRule', complete: true }],
    settings: [
      {
        key: 'config.recorder_status',
        ...base,
        value: [
          {
            name: 'default',
            recording: true,
            last_status: 'Success',
            last_error_code: null,
            last_start_time: Date.parse('2026-11-01T08:00:00Z') / 1000,
            last_stop_time: null,
            last_status_change_time: Date.parse('2026-11-17T23:55:00Z') / 1000,
          },
        ],
      },
      {
        key: 'config.rules',
        ...base,
        value: [
          {
            name: 'encrypted-volumes',
            arn: `arn:aws:config:${REGION}:${ACCOUNT}:config-rule/config-rule-abc123`,
            state: 'ACTIVE',
            source: { owner: 'AWS', identifier: 'ENCRYPTED_VOLUMES' },
            resource_types: [],
          },
        ],
      },
      {
        key: 'config.rule_compliance',
        ...base,
        value: [
          { rule: 'encrypted-volumes', compliance: 'NON_COMPLIANT', non_compliant_resources: 3, capped: false },
          { rule: 's3-bucket-versioning-enabled', compliance: 'COMPLIANT', non_compliant_resources: null, capped: false },
          { rule: 'rds-storage-encrypted', compliance: 'NON_COMPLIANT', non_compliant_resources: 100, capped: true },
          { rule: 'cloudtrail-enabled', compliance: 'INSUFFICIENT_DATA', non_compliant_resources: null, capped: false },
        ],
      },
      {
        key: 'config.discovered_resources',
        ...base,
        value: { 'AWS::S3::Bucket': 4, 'AWS::RDS::DBCluster': 0, 'AWS::RDS::DBInstance': 2, 'AWS::EC2::Volume': 117, 'AWS::KMS::Key': 5, 'AWS::CloudTrail::Trail': 0 },
      },
    ],
  });
  t.same(complianceTokens, [undefined, 'page-2'], 'DescribeComplianceByConfigRule read to its last page');
  t.same(volumeTokens, [undefined, 'volumes-2']);
  t.notOk(
    config.commandCalls(ListDiscoveredResourcesCommand).some((c) => ['AWS::EC2::RegionalSettings', 'AWS::IAM::PasswordPolicy', 'AWS::IAM::AccountSummary'].includes(c.args[0].input.resourceType!)),
    'types that are Custos settings, not AWS Config types, are not asked for',
  );
});

t.test('securityhub: GetEnabledStandards (moto: not implemented, HTTP 404), all pages; the Filters sent to GetFindings (moto ignores them)', async (t) => {
  const hub = mockClient(SecurityHubClient);
  t.teardown(() => hub.restore());
  const standardsTokens: Array<string | undefined> = [];
  hub.on(GetEnabledStandardsCommand).callsFake(
    paged(
      {
        StandardsSubscriptions: [
          {
            StandardsSubscriptionArn: `arn:aws:securityhub:${REGION}:${ACCOUNT}:subscription/aws-foundational-security-best-practices/v/1.0.0`,
            StandardsArn: `arn:aws:securityhub:${REGION}::standards/aws-foundational-security-best-practices/v/1.0.0`,
            StandardsInput: {},
            StandardsStatus: 'READY',
          },
        ],
        NextToken: 'standards-2',
      },
      {
        'standards-2': {
          StandardsSubscriptions: [
            {
              StandardsSubscriptionArn: `arn:aws:securityhub:${REGION}:${ACCOUNT}:subscription/cis-aws-foundations-benchmark/v/1.4.0`,
              StandardsArn: `arn:aws:securityhub:${REGION}::standards/cis-aws-foundations-benchmark/v/1.4.0`,
              StandardsInput: {},
              StandardsStatus: 'INCOMPLETE',
              StandardsStatusReason: { StatusReasonCode: 'NO_AVAILABLE_CONFIGURATION_RECORDER' },
            },
          ],
        },
      },
      standardsTokens,
    ),
  );
  hub.on(GetFindingsCommand).resolves({ Findings: [] });

  const since = 1_794_900_000;
  const output = await COLLECTORS.securityhub!.collect(context(since));
  t.same(output.gaps, []);
  t.same(output.settings, [
    {
      key: 'securityhub.standards',
      ...base,
      value: [
        {
          arn: `arn:aws:securityhub:${REGION}::standards/aws-foundational-security-best-practices/v/1.0.0`,
          subscription_arn: `arn:aws:securityhub:${REGION}:${ACCOUNT}:subscription/aws-foundational-security-best-practices/v/1.0.0`,
          status: 'READY',
        },
        {
          arn: `arn:aws:securityhub:${REGION}::standards/cis-aws-foundations-benchmark/v/1.4.0`,
          subscription_arn: `arn:aws:securityhub:${REGION}:${ACCOUNT}:subscription/cis-aws-foundations-benchmark/v/1.4.0`,
          status: 'INCOMPLETE',
        },
      ],
    },
  ]);
  t.same(standardsTokens, [undefined, 'standards-2']);
  t.same(
    hub.commandCalls(GetFindingsCommand).map((c) => c.args[0].input),
    [{ Filters: { RecordState: [{ Value: 'ACTIVE', Comparison: 'EQUALS' }], UpdatedAt: [{ Start: new Date(since * 1000).toISOString() }] }, MaxResults: 100 }],
    'only active findings, updated since the last run, 100 a page',
  );

  hub.resetHistory();
  await COLLECTORS.securityhub!.collect(context());
  t.same(hub.commandCalls(GetFindingsCommand)[0]!.args[0].input.Filters, { RecordState: [{ Value: 'ACTIVE', Comparison: 'EQUALS' }] }, 'a full run: no UpdatedAt filter');

  // GetFindings fails: the findings are not completely listed, but the standards read before stand,
  // so securityhub.standards_enabled still judges the region (it judges only complete listings).
  hub.on(GetFindingsCommand).rejects(Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' }));
  const failed = await COLLECTORS.securityhub!.collect(context());
  t.match(failed.gaps, [/securityhub:GetFindings/]);
  t.match(failed.coverage, [
    { resource_type: 'AWS::SecurityHub::Finding', complete: false, reason: /securityhub:GetFindings/ },
    { resource_type: 'AWS::SecurityHub::Hub', complete: true },
  ]);
  t.same(failed.resources.map((r) => r.type), ['AWS::SecurityHub::Hub']);
});

t.test('kms: AWS-managed keys and keys that cannot rotate (moto reports its own aws/* keys as CUSTOMER and never refuses GetKeyRotationStatus)', async (t) => {
  const kms = mockClient(KMSClient);
  t.teardown(() => kms.restore());
  const arn = (id: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
  kms.on(ListKeysCommand).resolves({ Keys: [{ KeyId: 'aws-ebs', KeyArn: arn('aws-ebs') }, { KeyId: 'rsa', KeyArn: arn('rsa') }, { KeyId: 'gone', KeyArn: arn('gone') }] });
  kms.on(DescribeKeyCommand, { KeyId: 'aws-ebs' }).resolves({ KeyMetadata: { KeyId: 'aws-ebs', Arn: arn('aws-ebs'), KeyManager: 'AWS', KeyState: 'Enabled' } });
  kms.on(DescribeKeyCommand, { KeyId: 'rsa' }).resolves({ KeyMetadata: { KeyId: 'rsa', Arn: arn('rsa'), KeyManager: 'CUSTOMER', KeyState: 'Enabled', KeySpec: 'RSA_2048' } });
  kms.on(DescribeKeyCommand, { KeyId: 'gone' }).resolves({ KeyMetadata: { KeyId: 'gone', Arn: arn('gone'), KeyManager: 'CUSTOMER', KeyState: 'PendingDeletion' } });
  kms.on(GetKeyRotationStatusCommand, { KeyId: 'rsa' }).rejects(new UnsupportedOperationException({ message: 'rsa is not a symmetric encryption key', $metadata: { httpStatusCode: 400 } }));
  kms.on(GetKeyRotationStatusCommand, { KeyId: 'gone' }).resolves({ KeyRotationEnabled: false });

  const output = await COLLECTORS.kms!.collect(context());
  t.same(output.gaps, []);
  t.same(output.resources, [
    { type: 'AWS::KMS::Key', id: 'aws-ebs', arn: arn('aws-ebs'), ...base, configuration: { key_manager: 'AWS', key_state: 'Enabled', key_rotation_enabled: true } },
    { type: 'AWS::KMS::Key', id: 'rsa', arn: arn('rsa'), ...base, configuration: { key_manager: 'CUSTOMER', key_state: 'Enabled', key_rotation_enabled: false } },
    { type: 'AWS::KMS::Key', id: 'gone', arn: arn('gone'), ...base, configuration: { key_manager: 'CUSTOMER', key_state: 'PendingDeletion', key_rotation_enabled: false } },
  ]);
  t.same(
    kms.commandCalls(GetKeyRotationStatusCommand).map((c) => c.args[0].input.KeyId).sort(),
    ['gone', 'rsa'],
    'rotation is not asked of AWS-managed keys',
  );
});

t.test('lakeformation: ListPermissions pages (moto does not paginate), inherited LF-tags and a vanished table (moto answers HTTP 500 for untagged resources)', async (t) => {
  const lf = mockClient(LakeFormationClient);
  t.teardown(() => lf.restore());
  const analyst = `arn:aws:iam::${ACCOUNT}:role/analyst`;
  lf.on(GetDataLakeSettingsCommand).resolves({ DataLakeSettings: { DataLakeAdmins: [{ DataLakePrincipalIdentifier: `arn:aws:iam::${ACCOUNT}:role/admin` }], ReadOnlyAdmins: [{ DataLakePrincipalIdentifier: `arn:aws:iam::${ACCOUNT}:role/auditor` }] } });
  const permissionTokens: Array<string | undefined> = [];
  lf.on(ListPermissionsCommand).callsFake(
    paged(
      {
        PrincipalResourcePermissions: [
          {
            Principal: { DataLakePrincipalIdentifier: analyst },
            Resource: { TableWithColumns: { CatalogId: ACCOUNT, DatabaseName: 'wealth', Name: 'clients', ColumnWildcard: {} } },
            Permissions: ['SELECT'],
            PermissionsWithGrantOption: [],
          },
        ],
        NextToken: 'permissions-2',
      },
      {
        'permissions-2': {
          PrincipalResourcePermissions: [
            { Principal: { DataLakePrincipalIdentifier: analyst }, Resource: { Table: { CatalogId: ACCOUNT, DatabaseName: 'legacy', Name: 'dropped' } }, Permissions: ['SELECT'], PermissionsWithGrantOption: [] },
            // On an LF-tag key: no access to data, left out.
            { Principal: { DataLakePrincipalIdentifier: analyst }, Resource: { LFTag: { CatalogId: ACCOUNT, TagKey: 'classification', TagValues: ['internal'] } }, Permissions: ['ASSOCIATE'], PermissionsWithGrantOption: [] },
            {
              Principal: { DataLakePrincipalIdentifier: analyst },
              Resource: { LFTagPolicy: { CatalogId: ACCOUNT, ResourceType: 'DATABASE', ExpressionName: 'internal-data' } },
              Permissions: ['DESCRIBE'],
              PermissionsWithGrantOption: [],
            },
          ],
        },
      },
      permissionTokens,
    ),
  );
  lf.on(ListLFTagsCommand).resolves({ LFTags: [{ CatalogId: ACCOUNT, TagKey: 'classification', TagValues: ['internal', 'restricted'] }] });
  // moto has no LF-tag expressions: the saved one is resolved at the SDK boundary.
  lf.on(GetLFTagExpressionCommand, { Name: 'internal-data' }).resolves({ Name: 'internal-data', Expression: [{ TagKey: 'classification', TagValues: ['internal'] }] });
  lf.on(GetResourceLFTagsCommand).rejects(new EntityNotFoundException({ message: 'Table not found', $metadata: { httpStatusCode: 400 } }));
  lf.on(GetResourceLFTagsCommand, { Resource: { Database: { Name: 'wealth' } } }).resolves({ LFTagOnDatabase: [{ CatalogId: ACCOUNT, TagKey: 'classification', TagValues: ['internal'] }] });
  lf.on(GetResourceLFTagsCommand, { Resource: { Table: { DatabaseName: 'wealth', Name: 'clients' } } }).resolves({
    LFTagOnDatabase: [{ CatalogId: ACCOUNT, TagKey: 'classification', TagValues: ['internal'] }],
    LFTagsOnTable: [{ CatalogId: ACCOUNT, TagKey: 'classification', TagValues: ['internal'] }],
    LFTagsOnColumns: [{ Name: 'ssn', LFTags: [{ CatalogId: ACCOUNT, TagKey: 'classification', TagValues: ['restricted'] }] }],
  });
  lf.on(GetResourceLFTagsCommand, { Resource: { Database: { Name: 'legacy' } } }).resolves({});

  const output = await COLLECTORS.lakeformation!.collect(context());
  t.same(output.gaps, []);
  t.same(output.permissions, [
    { principal: analyst, resource: { kind: 'table_with_columns', database: 'wealth', table: 'clients', excluded_columns: [] }, permissions: ['SELECT'], grantable: [], ...base },
    { principal: analyst, resource: { kind: 'table', database: 'legacy', table: 'dropped' }, permissions: ['SELECT'], grantable: [], ...base },
    { principal: analyst, resource: { kind: 'lf_tag_policy', resource_type: 'DATABASE', expression_name: 'internal-data', expression: [{ key: 'classification', values: ['internal'] }] }, permissions: ['DESCRIBE'], grantable: [], ...base },
  ]);
  t.same(permissionTokens, [undefined, 'permissions-2']);
  const settings = Object.fromEntries(output.settings.map((s) => [s.key, s.value]));
  t.same(settings['lakeformation.settings'], {
    admins: [`arn:aws:iam::${ACCOUNT}:role/admin`],
    read_only_admins: [`arn:aws:iam::${ACCOUNT}:role/auditor`],
    create_database_default_permissions: [],
    create_table_default_permissions: [],
  });
  t.same(settings['lakeformation.lf_tag_assignments'], [
    { database: 'wealth', lf_tags_on_database: [{ key: 'classification', values: ['internal'] }] },
    {
      database: 'wealth',
      table: 'clients',
      lf_tags_on_database: [{ key: 'classification', values: ['internal'] }],
      lf_tags_on_table: [{ key: 'classification', values: ['internal'] }],
      lf_tags_on_columns: [{ column: 'ssn', lf_tags: [{ key: 'classification', values: ['restricted'] }] }],
    },
    { database: 'legacy', lf_tags_on_database: [] },
  ], 'the dropped table (EntityNotFoundException) has no assignment, and is no gap');

  // A saved expression that cannot be read: what the permission reaches is unknown, so the run says so.
  lf.on(GetLFTagExpressionCommand).rejects(new AccessDeniedException({ message: 'no', $metadata: { httpStatusCode: 403 } }));
  const blind = await COLLECTORS.lakeformation!.collect(context());
  t.match(blind.gaps, [/lakeformation:GetLFTagExpression \(internal-data\).*AccessDenied/, /1 LF-tag policy permission\(s\) use a saved expression that could not be read/]);
});
