import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from '../http/schemas.js';

/**
 * The normalised state that compliance policies evaluate (entrypoint custos/compliance/violations).
 * This is the one definition of it: collectors produce it, rules in rego/ read it, and
 * docs/POLICY-INPUT.md explains it. Times are whole seconds since the Unix epoch, because the Wasm
 * engine has no time builtins and policies never read the clock: `now` comes in the input, so a
 * decision can be replayed exactly.
 */

/** An ISO 8601 time as policies read it: whole seconds since the Unix epoch. */
export const epochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

const Epoch = Type.Integer({ minimum: 0, description: 'seconds since the Unix epoch' });
const Bool = Type.Boolean();
const Str = Type.String();

export const PublicAccessBlock = Type.Object({
  block_public_acls: Bool,
  ignore_public_acls: Bool,
  block_public_policy: Bool,
  restrict_public_buckets: Bool,
});

export const S3BucketConfiguration = Type.Object({
  acl_grants: Type.Array(
    Type.Object({
      grantee_uri: Type.Optional(Str),
      grantee_id: Type.Optional(Str),
      permission: Type.Union(['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP', 'FULL_CONTROL'].map((p) => Type.Literal(p))),
    }),
  ),
  policy_statements: Type.Array(
    Type.Object({
      effect: Type.Union([Type.Literal('Allow'), Type.Literal('Deny')]),
      principal: Type.String({ description: '"*" for anyone, else an ARN or account id' }),
      actions: Type.Array(Str),
    }),
  ),
  public_access_block: Nullable(PublicAccessBlock),
  encryption: Nullable(Type.Object({ algorithm: Type.Union([Type.Literal('aws:kms'), Type.Literal('aws:kms:dsse'), Type.Literal('AES256')]), kms_key_id: Nullable(Str) })),
  versioning: Type.Union([Type.Literal('Enabled'), Type.Literal('Suspended'), Type.Literal('Off')]),
  logging: Nullable(Type.Object({ target_bucket: Str, target_prefix: Str })),
  denies_insecure_transport: Type.Optional(Type.Boolean({ description: 'the policy denies every S3 action to anyone when aws:SecureTransport is false' })),
  lifecycle_rules: Type.Array(
    Type.Object({ id: Str, enabled: Bool, prefix: Type.String({ description: 'objects this rule applies to; "" for all' }), expiration_days: Nullable(Type.Integer()) }),
  ),
});

export const RdsConfiguration = Type.Object({
  engine: Str,
  storage_encrypted: Bool,
  backup_retention_period: Type.Integer({ description: 'days' }),
  database_name: Type.Optional(Nullable(Str)),
  cluster: Type.Optional(Nullable(Type.String({ description: 'DB instances: the cluster they belong to' }))),
  force_ssl: Type.Optional(Nullable(Type.Boolean({ description: 'the parameter group sets rds.force_ssl / require_secure_transport; null: not set or unreadable' }))),
});
export const VolumeConfiguration = Type.Object({ encrypted: Bool, state: Str });
export const RegionalSettingsConfiguration = Type.Object({ ebs_encryption_by_default: Bool });
export const KmsKeyConfiguration = Type.Object({ key_manager: Type.Union([Type.Literal('CUSTOMER'), Type.Literal('AWS')]), key_state: Str, key_rotation_enabled: Bool });
export const TrailConfiguration = Type.Object({ is_multi_region_trail: Bool, log_file_validation_enabled: Bool, is_logging: Bool });
export const PasswordPolicyConfiguration = Type.Object({
  present: Type.Boolean({ description: 'false when the account has no password policy' }),
  minimum_password_length: Type.Integer(),
  require_symbols: Bool,
  require_numbers: Bool,
  require_uppercase_characters: Bool,
  require_lowercase_characters: Bool,
  password_reuse_prevention: Type.Optional(Nullable(Type.Integer({ description: 'passwords remembered; null: reuse allowed' }))),
  max_password_age: Type.Optional(Nullable(Type.Integer({ description: 'days; null: passwords never expire' }))),
});
export const AccountSummaryConfiguration = Type.Object({ account_mfa_enabled: Bool, root_access_keys_present: Type.Optional(Bool) });

const Nullepoch = Nullable(Epoch);
const RegionalId = 'id account:region';
/** Types added for the SOC 2 Phase-0 baseline (issue 17); config.ts does not count them in AWS Config. */
export const BASELINE_CONFIGURATIONS = {
  'AWS::GuardDuty::RegionalSettings': Type.Object({ detector_enabled: Bool, detectors: Type.Array(Type.Object({ id: Str, status: Str })) }, { description: RegionalId }),
  'AWS::Macie::RegionalSettings': Type.Object({ enabled: Bool, status: Str }, { description: RegionalId }),
  'AWS::AccessAnalyzer::RegionalSettings': Type.Object({ active_analyzers: Type.Integer(), analyzers: Type.Array(Type.Object({ name: Str, type: Str, status: Str })) }, { description: RegionalId }),
  'AWS::EC2::VPC': Type.Object({ is_default: Bool, active_flow_logs: Type.Integer(), flow_logs: Type.Array(Type.Object({ id: Str, status: Str, traffic_type: Str, destination_type: Str })) }),
  'AWS::Logs::LogGroup': Type.Object({ retention_in_days: Nullable(Type.Integer({ description: 'null: never expires' })) }),
  'AWS::IAM::User': Type.Object({
    created: Nullepoch,
    password_enabled: Type.Boolean({ description: 'console access' }),
    password_last_used: Nullepoch,
    mfa_active: Bool,
    access_keys: Type.Array(Type.Object({ active: Bool, last_rotated: Nullepoch, last_used: Nullepoch })),
  }),
  'AWS::S3::AccountPublicAccessBlock': Type.Object({ public_access_block: Nullable(PublicAccessBlock) }, { description: 'id = account' }),
  'AWS::Config::ConfigurationRecorder': Type.Object(
    { recorder_present: Bool, all_supported: Bool, include_global_resource_types: Bool, recording: Bool, delivery_channel_present: Bool, last_delivery_status: Nullable(Str) },
    { description: RegionalId },
  ),
  'AWS::Config::ConfigRule': Type.Object({ owner: Nullable(Str), identifier: Nullable(Type.String({ description: 'managed rule identifier, e.g. ENCRYPTED_VOLUMES' })), compliance: Str, non_compliant_resources: Nullable(Type.Integer()) }),
  'AWS::SecurityHub::Hub': Type.Object({ standards: Type.Array(Type.String({ description: 'ARNs of the standards in force' })) }, { description: RegionalId }),
  'AWS::Backup::BackupVault': Type.Object({ locked: Bool, min_retention_days: Nullable(Type.Integer()) }),
  'AWS::Backup::BackupPlan': Type.Object({ name: Str, vaults: Type.Array(Str), vaults_locked: Bool, resources: Type.Array(Type.String({ description: 'selected resource ARNs ("*" wildcards allowed)' })) }),
  'AWS::Backup::RegionalSettings': Type.Object({ plans_read: Bool }, { description: `${RegionalId}; present when every plan of the region was read` }),
  'AWS::DynamoDB::Table': Type.Object({ point_in_time_recovery: Bool, sse_type: Type.String({ description: 'KMS, AES256, or DEFAULT (AWS-owned key)' }), kms_key_arn: Nullable(Str) }),
  'AWS::SecretsManager::Secret': Type.Object({ rotation_enabled: Bool, rotation_days: Nullable(Type.Integer()), last_rotated: Nullepoch }),
} as const;

/** Configuration by resource type; the collectors normalise AWS Config / service APIs into these. */
export const RESOURCE_CONFIGURATIONS = {
  'AWS::S3::Bucket': S3BucketConfiguration,
  'AWS::RDS::DBCluster': RdsConfiguration,
  'AWS::RDS::DBInstance': RdsConfiguration,
  'AWS::EC2::Volume': VolumeConfiguration,
  'AWS::EC2::RegionalSettings': RegionalSettingsConfiguration,
  'AWS::KMS::Key': KmsKeyConfiguration,
  'AWS::CloudTrail::Trail': TrailConfiguration,
  'AWS::IAM::PasswordPolicy': PasswordPolicyConfiguration,
  'AWS::IAM::AccountSummary': AccountSummaryConfiguration,
  ...BASELINE_CONFIGURATIONS,
} as const;

export const Resource = Type.Object({
  type: Type.String({ description: 'AWS Config resource type, e.g. AWS::S3::Bucket' }),
  id: Type.String({ description: 'resource id: bucket name, volume id, key id, account id for account-level settings' }),
  arn: Type.Optional(Str),
  account: Type.String({ pattern: '^\\d{12}$' }),
  region: Str,
  configuration: Type.Record(Str, Type.Unknown(), { description: 'shape per type: see RESOURCE_CONFIGURATIONS' }),
  tags: Type.Optional(Type.Record(Str, Str)),
});

/** A Security Hub finding in ASFF, reduced to what policies read. */
export const Finding = Type.Object({
  id: Str,
  product_arn: Str,
  generator_id: Str,
  title: Str,
  severity: Type.Union(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].map((s) => Type.Literal(s))),
  compliance_status: Nullable(Type.Union(['PASSED', 'WARNING', 'FAILED', 'NOT_AVAILABLE'].map((s) => Type.Literal(s)))),
  workflow_status: Type.Union(['NEW', 'NOTIFIED', 'RESOLVED', 'SUPPRESSED'].map((s) => Type.Literal(s))),
  record_state: Type.Union([Type.Literal('ACTIVE'), Type.Literal('ARCHIVED')]),
  resources: Type.Array(Type.Object({ type: Str, id: Str })),
  account: Str,
  region: Str,
  first_observed_at: Epoch,
  last_observed_at: Epoch,
});

/** One Lake Formation permission (ListPermissions), normalised. */
export const LakeFormationPermission = Type.Object({
  principal: Type.String({ description: 'DataLakePrincipalIdentifier: IAM role/user ARN' }),
  resource: Type.Object({
    kind: Type.Union(['database', 'table', 'table_with_columns', 'lf_tag_policy', 'data_location', 'catalog'].map((k) => Type.Literal(k))),
    database: Type.Optional(Str),
    table: Type.Optional(Type.String({ description: '"*" for a table wildcard' })),
    columns: Type.Optional(Type.Array(Str, { description: 'table_with_columns: the columns named' })),
    excluded_columns: Type.Optional(Type.Array(Str, { description: 'table_with_columns with a column wildcard: all but these' })),
    resource_type: Type.Optional(Type.Union([Str, Type.Null()], { description: 'lf_tag_policy: DATABASE or TABLE' })),
    expression: Type.Optional(Type.Array(Type.Object({ key: Str, values: Type.Array(Str) }), { description: 'lf_tag_policy: AND across keys, OR across values' })),
    expression_name: Type.Optional(Type.String({ description: 'lf_tag_policy: a saved expression (not resolved: a gap)' })),
  }),
  permissions: Type.Array(Str),
  grantable: Type.Array(Str),
  account: Str,
  region: Str,
});

/** The metadata repository, as policies see it. */
export const CatalogAsset = Type.Object({
  store: Str,
  database: Str,
  table: Str,
  classification: Str,
  domain: Str,
  location: Nullable(Str),
  retention_policy: Nullable(Str),
  retention_days: Nullable(Type.Integer({ description: 'period_days of the retention policy' })),
  columns: Type.Array(Type.Object({ name: Str, classification: Str, pii_type: Nullable(Str), masking_rule: Nullable(Str) })),
});

const LfTags = Type.Array(Type.Object({ key: Str, values: Type.Array(Str) }));

/** An approved (active or pending_apply) data access grant, expired or not: policies compare expires_at with now. */
export const ApprovedGrant = Type.Object({
  scope: Type.Optional(Type.Union([Type.Literal('table'), Type.Literal('lf_tag')], { description: 'default table' })),
  lf_tag_expression: Type.Optional(Type.Array(Type.Object({ key: Str, values: Type.Array(Str) }), { description: 'scope lf_tag: the expression granted (AND across keys, OR across values)' })),
  principal: Str,
  database: Str,
  table: Str,
  columns: Type.Array(Str, { description: 'empty: the whole table' }),
  purpose: Str,
  expires_at: Epoch,
});

/** The LF-tags of a database or table (and its columns) as collected (setting lakeformation.lf_tag_assignments). */
export const LfTagAssignment = Type.Object({
  account: Str,
  region: Str,
  database: Str,
  table: Type.Optional(Str),
  lf_tags_on_database: LfTags,
  lf_tags_on_table: Type.Optional(LfTags),
  lf_tags_on_columns: Type.Optional(Type.Array(Type.Object({ column: Str, lf_tags: LfTags }))),
});

export const PolicyInput = Type.Object({
  now: Epoch,
  resources: Type.Array(Resource),
  findings: Type.Array(Finding),
  lake_formation: Type.Object({ permissions: Type.Array(LakeFormationPermission), lf_tag_assignments: Type.Optional(Type.Array(LfTagAssignment)) }),
  catalog: Type.Object({ assets: Type.Array(CatalogAsset), approved_grants: Type.Array(ApprovedGrant) }),
  coverage: Type.Optional(
    Type.Record(Str, Type.Record(Str, Type.Record(Str, Bool)), {
      description:
        'what the run listed: resource type → account → region → true when listed completely (false: listed incompletely; absent: not listed). Rules that conclude from absence fire only where it is true; absent coverage: nothing was listed',
    }),
  ),
});
export type PolicyInput = Static<typeof PolicyInput>;

/** What a compliance rule reports: explained, so a compliance officer sees why. */
export const Violation = Type.Object({
  id: Str,
  severity: Type.Union(['critical', 'high', 'medium', 'low'].map((s) => Type.Literal(s))),
  controls: Type.Array(Str),
  msg: Str,
  resource: Type.Object({ type: Str, id: Str, account: Str, region: Str }),
  rule: Type.Record(Str, Type.Unknown()),
  /** Seconds since the epoch: the violation holds only at a `now` later than this (src/evaluation/time-bound.ts). */
  violates_after: Type.Optional(Type.Number()),
});
export type Violation = Static<typeof Violation>;
