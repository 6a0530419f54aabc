import type { PolicyInput } from '../../src/policy/input.js';

export const NOW = 1_795_000_000; // 2026-11-18
const DAY = 86_400;
const ACCOUNT = '111122223333';
const base = { account: ACCOUNT, region: 'us-east-1' };
const privateBucket = {
  acl_grants: [],
  policy_statements: [],
  public_access_block: { block_public_acls: true, ignore_public_acls: true, block_public_policy: true, restrict_public_buckets: true },
  encryption: { algorithm: 'aws:kms', kms_key_id: 'arn:aws:kms:us-east-1:111122223333:key/k1' },
  versioning: 'Enabled',
  logging: { target_bucket: 'wealth-access-logs', target_prefix: 'x/' },
  lifecycle_rules: [],
};

/**
 * A small wealth-management estate that is compliant except for exactly the problems listed in
 * EXPECTED: a public documents bucket, an unencrypted volume, an overdue critical finding, a Lake
 * Formation grant on clients.ssn without approval, a PII column without masking.
 */
export const ESTATE: PolicyInput = {
  now: NOW,
  resources: [
    { type: 'AWS::S3::Bucket', id: 'wealth-client-documents', ...base, configuration: { ...privateBucket, public_access_block: null, acl_grants: [{ grantee_uri: 'http://acs.amazonaws.com/groups/global/AllUsers', permission: 'READ' }] } },
    { type: 'AWS::S3::Bucket', id: 'wealth-access-logs', ...base, configuration: { ...privateBucket, logging: { target_bucket: 'wealth-access-logs', target_prefix: 'self/' } } },
    { type: 'AWS::EC2::Volume', id: 'vol-0unencrypted', ...base, configuration: { encrypted: false, state: 'in-use' } },
    { type: 'AWS::EC2::Volume', id: 'vol-0encrypted', ...base, configuration: { encrypted: true, state: 'in-use' } },
    { type: 'AWS::EC2::RegionalSettings', id: `${ACCOUNT}:us-east-1`, ...base, configuration: { ebs_encryption_by_default: true } },
    { type: 'AWS::RDS::DBCluster', id: 'wealth-aurora', ...base, configuration: { engine: 'aurora-postgresql', storage_encrypted: true, backup_retention_period: 35 } },
    { type: 'AWS::KMS::Key', id: 'k1', ...base, configuration: { key_manager: 'CUSTOMER', key_state: 'Enabled', key_rotation_enabled: true } },
    { type: 'AWS::CloudTrail::Trail', id: 'org-trail', ...base, configuration: { is_multi_region_trail: true, log_file_validation_enabled: true, is_logging: true } },
    { type: 'AWS::IAM::PasswordPolicy', id: ACCOUNT, ...base, configuration: { present: true, minimum_password_length: 14, require_symbols: true, require_numbers: true, require_uppercase_characters: true, require_lowercase_characters: true } },
    { type: 'AWS::IAM::AccountSummary', id: ACCOUNT, ...base, configuration: { account_mfa_enabled: true } },
  ],
  findings: [
    {
      id: 'arn:aws:securityhub:us-east-1:111122223333:finding/f-critical',
      product_arn: 'arn:aws:securityhub:us-east-1::product/aws/securityhub',
      generator_id: 'aws-foundational-security-best-practices/v/1.0.0/S3.2',
      title: 'S3 general purpose buckets should block public read access',
      severity: 'CRITICAL',
      compliance_status: 'FAILED',
      workflow_status: 'NEW',
      record_state: 'ACTIVE',
      resources: [{ type: 'AwsS3Bucket', id: 'arn:aws:s3:::wealth-client-documents' }],
      ...base,
      first_observed_at: NOW - 10 * DAY,
      last_observed_at: NOW - DAY,
    },
    {
      id: 'arn:aws:securityhub:us-east-1:111122223333:finding/f-fresh',
      product_arn: 'arn:aws:securityhub:us-east-1::product/aws/securityhub',
      generator_id: 'x',
      title: 'A fresh high finding',
      severity: 'HIGH',
      compliance_status: 'FAILED',
      workflow_status: 'NEW',
      record_state: 'ACTIVE',
      resources: [{ type: 'AwsEc2Volume', id: 'vol-0unencrypted' }],
      ...base,
      first_observed_at: NOW - 2 * DAY,
      last_observed_at: NOW,
    },
  ],
  lake_formation: {
    permissions: [
      { principal: 'arn:aws:iam::111122223333:role/analytics', resource: { kind: 'table_with_columns', database: 'wealth', table: 'clients', columns: ['client_id', 'ssn'] }, permissions: ['SELECT'], grantable: [], ...base },
      { principal: 'arn:aws:iam::111122223333:role/kyc', resource: { kind: 'table_with_columns', database: 'wealth', table: 'clients', columns: ['ssn'] }, permissions: ['SELECT'], grantable: [], ...base },
    ],
  },
  catalog: {
    assets: [
      {
        store: 'glue', database: 'wealth', table: 'clients', classification: 'restricted', domain: 'Client', location: null,
        retention_policy: 'client-data', retention_days: 2557,
        columns: [
          { name: 'client_id', classification: 'internal', pii_type: null, masking_rule: null },
          { name: 'first_name', classification: 'confidential', pii_type: 'name', masking_rule: null },
          { name: 'ssn', classification: 'restricted', pii_type: 'ssn', masking_rule: 'ssn_last4' },
        ],
      },
    ],
    approved_grants: [{ principal: 'arn:aws:iam::111122223333:role/kyc', database: 'wealth', table: 'clients', columns: ['ssn'], purpose: 'kyc-review', expires_at: NOW + 30 * DAY }],
  },
};

/** Exactly what ESTATE violates: [rule id, resource id]. */
export const EXPECTED: Array<[string, string]> = [
  ['catalog.pii_masking', 'glue/wealth/clients.first_name'],
  ['ec2.volume_encrypted', 'vol-0unencrypted'],
  ['lakeformation.restricted_column_grant', 'arn:aws:iam::111122223333:role/analytics:wealth.clients.ssn'],
  ['s3.bucket_public_read', 'wealth-client-documents'],
  ['securityhub.finding_sla', 'arn:aws:securityhub:us-east-1:111122223333:finding/f-critical'],
  // The fixture's data stores carry none of seed 004's mandatory tags (issue 17).
  ['tags.mandatory', 'wealth-access-logs'],
  ['tags.mandatory', 'wealth-aurora'],
  ['tags.mandatory', 'wealth-client-documents'],
];
