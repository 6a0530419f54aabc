/**
 * A small wealth-management estate, loaded into moto through the AWS SDK, with what the collectors
 * must report about it (the collector tests) and what `npm run demo:aws` shows: a public bucket, an
 * unencrypted volume, a restricted column granted in Lake Formation, an old Security Hub finding.
 * Ids that moto generates (volumes, keys, owner) are returned by `loadEstate`.
 */
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { ConfigServiceClient, PutConfigRuleCommand, PutConfigurationRecorderCommand, PutDeliveryChannelCommand, StartConfigurationRecorderCommand } from '@aws-sdk/client-config-service';
import { CreateVolumeCommand, DisableEbsEncryptionByDefaultCommand, EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient, UpdateAccountPasswordPolicyCommand } from '@aws-sdk/client-iam';
import { CreateKeyCommand, EnableKeyRotationCommand, KMSClient } from '@aws-sdk/client-kms';
import { AddLFTagsToResourceCommand, CreateLFTagCommand, GrantPermissionsCommand, LakeFormationClient, PutDataLakeSettingsCommand } from '@aws-sdk/client-lakeformation';
import { CreateDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import {
  CreateBucketCommand,
  GetBucketAclCommand,
  PutBucketAclCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketLoggingCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { BatchImportFindingsCommand, EnableSecurityHubCommand, SecurityHubClient, type AwsSecurityFinding } from '@aws-sdk/client-securityhub';

/** moto's default account: every resource it creates belongs to it. */
export const MOTO_ACCOUNT = '123456789012';

/** Client settings for moto (it accepts any credentials, but the SDK signs with some). */
export function motoClient(endpoint: string, region = 'us-east-1') {
  return { endpoint, region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
}

export const REGION = 'us-east-1';
export const ACCOUNT = MOTO_ACCOUNT;
export const ANALYST = `arn:aws:iam::${ACCOUNT}:role/analyst`;
export const KYC = `arn:aws:iam::${ACCOUNT}:role/kyc`;
export const STEWARD = `arn:aws:iam::${ACCOUNT}:role/steward`;
export const LAKE_ADMIN = `arn:aws:iam::${ACCOUNT}:role/lake-admin`;
export const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
export const LOG_DELIVERY = 'http://acs.amazonaws.com/groups/s3/LogDelivery';
export const PRODUCT_ARN = `arn:aws:securityhub:${REGION}:${ACCOUNT}:product/${ACCOUNT}/default`;
const DAY = 86_400;

export interface LoadedEstate {
  /** The canonical user id of the bucket owner. */
  owner: string;
  volumes: { encrypted: string; unencrypted: string };
  keys: { rotating: string; notRotating: string };
  /** When the findings were imported, epoch seconds. */
  importedAt: number;
  findings: { critical: AwsSecurityFinding; high: AwsSecurityFinding; archived: AwsSecurityFinding; stale: AwsSecurityFinding };
}

const iso = (epoch: number) => new Date(epoch * 1000).toISOString();

function finding(id: string, fields: Partial<AwsSecurityFinding>, times: { created: number; updated: number }): AwsSecurityFinding {
  return {
    SchemaVersion: '2018-10-08',
    Id: id,
    ProductArn: PRODUCT_ARN,
    GeneratorId: 'custos-test',
    AwsAccountId: ACCOUNT,
    Region: REGION,
    Types: ['Software and Configuration Checks/AWS Security Best Practices'],
    CreatedAt: iso(times.created),
    UpdatedAt: iso(times.updated),
    Title: id,
    Description: `finding ${id}`,
    Severity: { Label: 'LOW' },
    Resources: [{ Type: 'AwsAccount', Id: `AWS::::Account:${ACCOUNT}` }],
    ...fields,
  };
}

export async function loadEstate(endpoint: string): Promise<LoadedEstate> {
  const settings = motoClient(endpoint, REGION);
  const s3 = new S3Client({ ...settings, forcePathStyle: true });
  const s3Eu = new S3Client({ ...motoClient(endpoint, 'eu-west-1'), forcePathStyle: true });
  const ec2 = new EC2Client(settings);
  const kms = new KMSClient(settings);
  const cloudtrail = new CloudTrailClient(settings);
  const iam = new IAMClient(settings);
  const rds = new RDSClient(settings);
  const config = new ConfigServiceClient(settings);
  const hub = new SecurityHubClient(settings);
  const lf = new LakeFormationClient(settings);

  // S3: a private, fully configured bucket; its log bucket; a public-read ACL bucket; a bucket with a
  // public policy; a bare bucket; and a bucket in another region, which us-east-1 must not report.
  for (const Bucket of ['wealth-client-documents', 'wealth-access-logs', 'wealth-public-site', 'wealth-shared-reports', 'wealth-scratch']) {
    await s3.send(new CreateBucketCommand({ Bucket }));
  }
  await s3Eu.send(new CreateBucketCommand({ Bucket: 'wealth-eu-archive', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  // The bucket owner's canonical id, as ACLs name it (moto's ListBuckets Owner.ID is another value).
  const owner = (await s3.send(new GetBucketAclCommand({ Bucket: 'wealth-scratch' }))).Owner!.ID!;
  // Log delivery may write to the log bucket. (Not the canned ACL log-delivery-write: moto reports
  // only the first permission of a grant holding several.)
  await s3.send(
    new PutBucketAclCommand({
      Bucket: 'wealth-access-logs',
      AccessControlPolicy: {
        Owner: { ID: owner },
        Grants: [
          { Grantee: { Type: 'CanonicalUser', ID: owner }, Permission: 'FULL_CONTROL' },
          { Grantee: { Type: 'Group', URI: LOG_DELIVERY }, Permission: 'WRITE' },
          { Grantee: { Type: 'Group', URI: LOG_DELIVERY }, Permission: 'READ_ACP' },
        ],
      },
    }),
  );
  const documents = 'wealth-client-documents';
  await s3.send(
    new PutPublicAccessBlockCommand({
      Bucket: documents,
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
    }),
  );
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: documents,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/wealth-documents' } }] },
    }),
  );
  await s3.send(new PutBucketVersioningCommand({ Bucket: documents, VersioningConfiguration: { Status: 'Enabled' } }));
  await s3.send(new PutBucketLoggingCommand({ Bucket: documents, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: 'wealth-access-logs', TargetPrefix: 'documents/' } } }));
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: documents,
      LifecycleConfiguration: {
        Rules: [
          { ID: 'expire-statements', Status: 'Enabled', Filter: { Prefix: 'statements/' }, Expiration: { Days: 2557 } },
          { ID: 'tidy-uploads', Status: 'Disabled', Filter: { Prefix: '' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } },
        ],
      },
    }),
  );
  await s3.send(new PutBucketEncryptionCommand({ Bucket: 'wealth-access-logs', ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: 'wealth-scratch', VersioningConfiguration: { Status: 'Suspended' } }));
  await s3.send(new PutBucketAclCommand({ Bucket: 'wealth-public-site', ACL: 'public-read' }));
  await s3.send(
    new PutBucketPolicyCommand({
      Bucket: 'wealth-shared-reports',
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Sid: 'Public', Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::wealth-shared-reports/*' },
          { Sid: 'Partner', Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::444455556666:root', 'arn:aws:iam::777788889999:root'] }, Action: ['s3:ListBucket', 's3:GetObject'], Resource: ['arn:aws:s3:::wealth-shared-reports', 'arn:aws:s3:::wealth-shared-reports/*'] },
          { Sid: 'TlsOnly', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::wealth-shared-reports/*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
        ],
      }),
    }),
  );

  // KMS: a customer key with rotation and one without.
  const rotating = (await kms.send(new CreateKeyCommand({ Description: 'documents' }))).KeyMetadata!.KeyId!;
  await kms.send(new EnableKeyRotationCommand({ KeyId: rotating }));
  const notRotating = (await kms.send(new CreateKeyCommand({ Description: 'scratch' }))).KeyMetadata!.KeyId!;

  // EC2: one encrypted and one unencrypted volume; EBS encryption by default off. (The encrypted
  // volume names its key: without one, moto creates an aws/ebs key that it reports as CUSTOMER-managed.)
  const encrypted = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 10, Encrypted: true, KmsKeyId: rotating }))).VolumeId!;
  const unencrypted = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1b', Size: 20, Encrypted: false, TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'team', Value: 'wealth' }] }] }))).VolumeId!;
  await ec2.send(new DisableEbsEncryptionByDefaultCommand({}));

  // CloudTrail: a multi-region trail without log file validation, logging, at home in us-east-1...
  await s3.send(new CreateBucketCommand({ Bucket: 'wealth-trail-logs' }));
  await cloudtrail.send(new CreateTrailCommand({ Name: 'org-trail', S3BucketName: 'wealth-trail-logs', IsMultiRegionTrail: true, EnableLogFileValidation: false }));
  await cloudtrail.send(new StartLoggingCommand({ Name: 'org-trail' }));
  // ... and a single-region trail in eu-west-1, validated but not logging: only eu-west-1 reports it.
  const cloudtrailEu = new CloudTrailClient(motoClient(endpoint, 'eu-west-1'));
  await cloudtrailEu.send(new CreateTrailCommand({ Name: 'eu-trail', S3BucketName: 'wealth-eu-archive', EnableLogFileValidation: true }));
  cloudtrailEu.destroy();

  // IAM: a weak password policy.
  await iam.send(new UpdateAccountPasswordPolicyCommand({ MinimumPasswordLength: 8, RequireNumbers: true, RequireUppercaseCharacters: true }));

  // RDS: an unencrypted PostgreSQL instance keeping backups one day.
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: 'wealth-reporting',
      DBInstanceClass: 'db.t3.micro',
      Engine: 'postgres',
      AllocatedStorage: 20,
      MasterUsername: 'custos',
      MasterUserPassword: 'not-a-secret-1',
      StorageEncrypted: false,
      BackupRetentionPeriod: 1,
      Tags: [{ Key: 'team', Value: 'wealth' }],
    }),
  );

  // Config: a recorder that records, one managed rule.
  await config.send(new PutConfigurationRecorderCommand({ ConfigurationRecorder: { name: 'default', roleARN: `arn:aws:iam::${ACCOUNT}:role/config`, recordingGroup: { allSupported: true } } }));
  await config.send(new PutDeliveryChannelCommand({ DeliveryChannel: { name: 'default', s3BucketName: 'wealth-access-logs' } }));
  await config.send(new StartConfigurationRecorderCommand({ ConfigurationRecorderName: 'default' }));
  await config.send(
    new PutConfigRuleCommand({
      ConfigRule: { ConfigRuleName: 's3-bucket-versioning-enabled', Source: { Owner: 'AWS', SourceIdentifier: 'S3_BUCKET_VERSIONING_ENABLED' }, Scope: { ComplianceResourceTypes: ['AWS::S3::Bucket'] } },
    }),
  );

  // Security Hub: a CRITICAL and a HIGH active finding, an archived one, and one last updated long ago.
  await hub.send(new EnableSecurityHubCommand({ EnableDefaultStandards: false }));
  const importedAt = Math.floor(Date.now() / 1000);
  const findings = {
    critical: finding(
      'f-critical',
      {
        Title: 'S3 general purpose buckets should block public read access',
        GeneratorId: 'aws-foundational-security-best-practices/v/1.0.0/S3.2',
        Severity: { Label: 'CRITICAL' },
        Compliance: { Status: 'FAILED' },
        Workflow: { Status: 'NEW' },
        RecordState: 'ACTIVE',
        FirstObservedAt: iso(importedAt - 10 * DAY),
        LastObservedAt: iso(importedAt - DAY),
        Resources: [{ Type: 'AwsS3Bucket', Id: 'arn:aws:s3:::wealth-public-site' }],
      },
      { created: importedAt - 10 * DAY, updated: importedAt - 60 },
    ),
    // Only the deprecated WorkflowState, no Compliance, no FirstObservedAt/LastObservedAt.
    high: finding(
      'f-high',
      { Title: 'EBS volume is not encrypted', Severity: { Label: 'HIGH' }, WorkflowState: 'IN_PROGRESS', RecordState: 'ACTIVE', Resources: [{ Type: 'AwsEc2Volume', Id: unencrypted }] },
      { created: importedAt - 3 * DAY, updated: importedAt - 30 },
    ),
    archived: finding(
      'f-archived',
      { Severity: { Label: 'CRITICAL' }, Compliance: { Status: 'FAILED' }, Workflow: { Status: 'NEW' }, RecordState: 'ARCHIVED' },
      { created: importedAt - 20 * DAY, updated: importedAt - 20 },
    ),
    stale: finding(
      'f-stale',
      { Severity: { Label: 'MEDIUM' }, Compliance: { Status: 'WARNING' }, Workflow: { Status: 'NOTIFIED' }, RecordState: 'ACTIVE' },
      { created: importedAt - 40 * DAY, updated: importedAt - 30 * DAY },
    ),
  };
  const imported = await hub.send(new BatchImportFindingsCommand({ Findings: Object.values(findings) }));
  if (imported.FailedCount) throw new Error(`BatchImportFindings failed: ${JSON.stringify(imported.FailedFindings)}`);

  // Lake Formation: an administrator; a grant on wealth.clients [ssn] (with grant option), one on
  // every table of wealth, a column wildcard, a database, an LF-tag policy, a data location and the
  // catalog; LF-tags on the database and on clients.
  await lf.send(
    new PutDataLakeSettingsCommand({
      DataLakeSettings: {
        DataLakeAdmins: [{ DataLakePrincipalIdentifier: LAKE_ADMIN }],
        CreateDatabaseDefaultPermissions: [],
        CreateTableDefaultPermissions: [{ Principal: { DataLakePrincipalIdentifier: 'IAM_ALLOWED_PRINCIPALS' }, Permissions: ['ALL'] }],
      },
    }),
  );
  const grant = (principal: string, Resource: ConstructorParameters<typeof GrantPermissionsCommand>[0]['Resource'], Permissions: string[], PermissionsWithGrantOption: string[] = []) =>
    lf.send(new GrantPermissionsCommand({ Principal: { DataLakePrincipalIdentifier: principal }, Resource, Permissions: Permissions as never, PermissionsWithGrantOption: PermissionsWithGrantOption as never }));
  await grant(KYC, { TableWithColumns: { DatabaseName: 'wealth', Name: 'clients', ColumnNames: ['ssn'] } }, ['SELECT'], ['SELECT']);
  await grant(ANALYST, { Table: { DatabaseName: 'wealth', TableWildcard: {} } }, ['SELECT', 'DESCRIBE']);
  await grant(ANALYST, { TableWithColumns: { DatabaseName: 'wealth', Name: 'accounts', ColumnWildcard: { ExcludedColumnNames: ['iban'] } } }, ['SELECT']);
  await grant(STEWARD, { Database: { Name: 'wealth' } }, ['DESCRIBE', 'CREATE_TABLE']);
  await grant(STEWARD, { LFTagPolicy: { ResourceType: 'TABLE', Expression: [{ TagKey: 'classification', TagValues: ['internal', 'confidential'] }] } }, ['SELECT']);
  await grant(STEWARD, { DataLocation: { ResourceArn: 'arn:aws:s3:::wealth-client-documents' } }, ['DATA_LOCATION_ACCESS']);
  await grant(LAKE_ADMIN, { Catalog: {} }, ['CREATE_DATABASE']);
  await lf.send(new CreateLFTagCommand({ TagKey: 'classification', TagValues: ['internal', 'confidential', 'restricted'] }));
  await lf.send(new CreateLFTagCommand({ TagKey: 'domain', TagValues: ['client'] }));
  await lf.send(new AddLFTagsToResourceCommand({ Resource: { Database: { Name: 'wealth' } }, LFTags: [{ TagKey: 'domain', TagValues: ['client'] }] }));
  await lf.send(new AddLFTagsToResourceCommand({ Resource: { Table: { DatabaseName: 'wealth', Name: 'clients' } }, LFTags: [{ TagKey: 'classification', TagValues: ['restricted'] }] }));
  await lf.send(new AddLFTagsToResourceCommand({ Resource: { Table: { DatabaseName: 'wealth', Name: 'accounts' } }, LFTags: [{ TagKey: 'classification', TagValues: ['confidential'] }] }));

  for (const client of [s3, s3Eu, ec2, kms, cloudtrail, iam, rds, config, hub, lf]) client.destroy();
  return { owner, volumes: { encrypted, unencrypted }, keys: { rotating, notRotating }, importedAt, findings };
}
