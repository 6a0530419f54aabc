import type { Snapshot } from '../sources/snapshot.js';

/**
 * A point-in-time snapshot of the wealth-management estate (account 111122223333, us-east-1), in
 * the normalised shape the collectors produce. Loaded by `--demo`, so the demo has real findings:
 * a public documents bucket and a public analytics export, statements kept for less than their
 * retention, an unencrypted volume, a stale reporting database backup, a key without rotation, a
 * weak password policy, overdue Security Hub findings and Lake Formation grants on clients.ssn.
 */
const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const OBSERVED = Date.parse('2026-11-20T06:00:00Z') / 1000;
const DAY = 86_400;
const at = { account: ACCOUNT, region: REGION };
const kms = { algorithm: 'aws:kms' as const, kms_key_id: `arn:aws:kms:${REGION}:${ACCOUNT}:key/0f1e2d3c-documents` };
const blockAll = { block_public_acls: true, ignore_public_acls: true, block_public_policy: true, restrict_public_buckets: true };
const logging = (prefix: string) => ({ target_bucket: 'wealth-access-logs', target_prefix: `${prefix}/` });
const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

const finding = (id: string, title: string, severity: 'CRITICAL' | 'HIGH' | 'MEDIUM', daysOpen: number, resource: { type: string; id: string }, extra: Record<string, unknown> = {}) => ({
  id: `arn:aws:securityhub:${REGION}:${ACCOUNT}:subscription/aws-foundational-security-best-practices/v/1.0.0/${id}`,
  product_arn: `arn:aws:securityhub:${REGION}::product/aws/securityhub`,
  generator_id: `aws-foundational-security-best-practices/v/1.0.0/${id.split('/')[0]}`,
  title,
  severity,
  compliance_status: 'FAILED' as const,
  workflow_status: 'NEW' as const,
  record_state: 'ACTIVE' as const,
  resources: [resource],
  ...at,
  first_observed_at: OBSERVED - daysOpen * DAY,
  last_observed_at: OBSERVED - DAY,
  ...extra,
});

const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;


/** Seed 004's mandatory tags (rule tags.mandatory); the demo's data stores are tagged at the highest level. */
const MANDATORY_TAGS = { Environment: 'prod', CostCenter: 'wealth-platform', Compliance: 'SOC2', DataClassification: 'Restricted' };
export const wealthEstate: Snapshot = {
  observed_at: new Date(OBSERVED * 1000).toISOString(),
  resources: [
    {
      type: 'AWS::S3::Bucket', id: 'wealth-client-documents', arn: 'arn:aws:s3:::wealth-client-documents', ...at,
      configuration: {
        acl_grants: [{ grantee_id: 'owner-canonical-id', permission: 'FULL_CONTROL' }, { grantee_uri: ALL_USERS, permission: 'READ' }],
        policy_statements: [], public_access_block: null, encryption: kms, versioning: 'Enabled', logging: logging('client-documents'),
        lifecycle_rules: [{ id: 'documents-10y', enabled: true, prefix: 'client-documents/', expiration_days: 3653 }],
      },
      tags: { ...MANDATORY_TAGS, domain: 'Document Management', env: 'prod' },
    },
    {
      type: 'AWS::S3::Bucket', id: 'wealth-account-statements', arn: 'arn:aws:s3:::wealth-account-statements', ...at,
      configuration: {
        acl_grants: [{ grantee_id: 'owner-canonical-id', permission: 'FULL_CONTROL' }], policy_statements: [], public_access_block: blockAll,
        encryption: { algorithm: 'AES256', kms_key_id: null }, versioning: 'Suspended', logging: logging('statements'),
        lifecycle_rules: [{ id: 'statements-5y', enabled: true, prefix: 'statements/', expiration_days: 1825 }],
      },
      tags: { ...MANDATORY_TAGS, domain: 'Account', env: 'prod' },
    },
    {
      type: 'AWS::S3::Bucket', id: 'wealth-analytics-exports', arn: 'arn:aws:s3:::wealth-analytics-exports', ...at,
      configuration: {
        acl_grants: [{ grantee_id: 'owner-canonical-id', permission: 'FULL_CONTROL' }],
        policy_statements: [{ effect: 'Allow', principal: '*', actions: ['s3:GetObject'] }], public_access_block: null, encryption: kms,
        versioning: 'Enabled', logging: null, lifecycle_rules: [],
      },
      tags: { ...MANDATORY_TAGS, domain: 'Investment', env: 'prod' },
    },
    {
      type: 'AWS::S3::Bucket', id: 'wealth-access-logs', arn: 'arn:aws:s3:::wealth-access-logs', ...at, tags: MANDATORY_TAGS,
      configuration: {
        acl_grants: [{ grantee_id: 'owner-canonical-id', permission: 'FULL_CONTROL' }], policy_statements: [], public_access_block: blockAll,
        encryption: kms, versioning: 'Enabled', logging: logging('self'), lifecycle_rules: [{ id: 'logs-5y', enabled: true, prefix: '', expiration_days: 1827 }],
      },
    },
    { type: 'AWS::EC2::Volume', id: 'vol-0a1b2c3d4e5f60001', ...at, configuration: { encrypted: false, state: 'in-use' }, tags: { Name: 'batch-scratch' } },
    { type: 'AWS::EC2::Volume', id: 'vol-0a1b2c3d4e5f60002', ...at, configuration: { encrypted: true, state: 'in-use' } },
    { type: 'AWS::EC2::RegionalSettings', id: `${ACCOUNT}:${REGION}`, ...at, configuration: { ebs_encryption_by_default: false } },
    { type: 'AWS::RDS::DBCluster', id: 'wealth-aurora', ...at, tags: MANDATORY_TAGS, configuration: { engine: 'aurora-postgresql', storage_encrypted: true, backup_retention_period: 35 } },
    { type: 'AWS::RDS::DBInstance', id: 'wealth-reporting', ...at, tags: MANDATORY_TAGS, configuration: { engine: 'postgres', storage_encrypted: true, backup_retention_period: 1 } },
    { type: 'AWS::KMS::Key', id: '0f1e2d3c-documents', ...at, configuration: { key_manager: 'CUSTOMER', key_state: 'Enabled', key_rotation_enabled: true } },
    { type: 'AWS::KMS::Key', id: '9a8b7c6d-exports', ...at, configuration: { key_manager: 'CUSTOMER', key_state: 'Enabled', key_rotation_enabled: false } },
    { type: 'AWS::CloudTrail::Trail', id: 'wealth-org-trail', ...at, configuration: { is_multi_region_trail: true, log_file_validation_enabled: true, is_logging: true } },
    // Account-level S3 Block Public Access is on (rule s3.account_public_access_block, issue 17).
    { type: 'AWS::S3::AccountPublicAccessBlock', id: '111122223333', ...at, configuration: { public_access_block: { block_public_acls: true, ignore_public_acls: true, block_public_policy: true, restrict_public_buckets: true } } },
    {
      type: 'AWS::IAM::PasswordPolicy', id: ACCOUNT, ...at,
      configuration: { present: true, minimum_password_length: 8, require_symbols: true, require_numbers: true, require_uppercase_characters: true, require_lowercase_characters: true },
    },
    { type: 'AWS::IAM::AccountSummary', id: ACCOUNT, ...at, configuration: { account_mfa_enabled: true } },
  ],
  findings: [
    finding('S3.2/finding/0001', 'S3 general purpose buckets should block public read access', 'CRITICAL', 12, { type: 'AwsS3Bucket', id: 'arn:aws:s3:::wealth-client-documents' }),
    finding('EC2.3/finding/0002', 'Attached EBS volumes should be encrypted at-rest', 'HIGH', 45, { type: 'AwsEc2Volume', id: `arn:aws:ec2:${REGION}:${ACCOUNT}:volume/vol-0a1b2c3d4e5f60001` }),
    finding('KMS.4/finding/0003', 'AWS KMS key rotation should be enabled', 'MEDIUM', 60, { type: 'AwsKmsKey', id: '9a8b7c6d-exports' }),
    finding('IAM.7/finding/0004', 'Password policies for IAM users should have strong configurations', 'HIGH', 3, { type: 'AwsAccount', id: `AWS::::Account:${ACCOUNT}` }),
    finding('S3.8/finding/0005', 'S3 general purpose buckets should block public access', 'CRITICAL', 90, { type: 'AwsS3Bucket', id: 'arn:aws:s3:::wealth-legacy-reports' }, { record_state: 'ARCHIVED', workflow_status: 'RESOLVED' }),
  ],
  lake_formation: {
    permissions: [
      { principal: role('analytics-etl'), resource: { kind: 'table_with_columns', database: 'wealth', table: 'clients', columns: ['client_id', 'ssn', 'marital_status'] }, permissions: ['SELECT'], grantable: [], ...at },
      { principal: role('data-science'), resource: { kind: 'table', database: 'wealth', table: 'clients' }, permissions: ['SELECT', 'DESCRIBE'], grantable: [], ...at },
      { principal: role('tax-reporting'), resource: { kind: 'table_with_columns', database: 'wealth', table: 'client_tax_information', excluded_columns: ['tax_id'] }, permissions: ['SELECT'], grantable: [], ...at },
      { principal: role('market-data'), resource: { kind: 'table', database: 'wealth', table: 'securities_master' }, permissions: ['SELECT'], grantable: ['SELECT'], ...at },
    ],
  },
  settings: [
    { key: 'lakeformation.settings', ...at, value: { admins: [role('lake-admin')], create_database_default_permissions: [], create_table_default_permissions: [] } },
    { key: 'config.recorder_status', ...at, value: [{ name: 'default', recording: true, last_status: 'SUCCESS' }] },
  ],
};
