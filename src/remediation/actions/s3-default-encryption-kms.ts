import { Type } from '@sinclair/typebox';
import { DeleteBucketEncryptionCommand, GetBucketEncryptionCommand, PutBucketEncryptionCommand, type ServerSideEncryption } from '@aws-sdk/client-s3';
import { isError } from '../../sources/collectors/common.js';
import { s3Client, withClient } from '../aws.js';
import { defineAction, requestIds } from './action.js';

interface Encryption {
  algorithm: string;
  kms_key_id: string | null;
  bucket_key_enabled: boolean;
}

const rule = (e: Encryption) => ({
  ApplyServerSideEncryptionByDefault: { SSEAlgorithm: e.algorithm as ServerSideEncryption, ...(e.kms_key_id ? { KMSMasterKeyID: e.kms_key_id } : {}) },
  BucketKeyEnabled: e.bucket_key_enabled,
});

/** S3 default encryption with a customer-managed KMS key. */
export const s3DefaultEncryptionKms = defineAction({
  name: 's3_default_encryption_kms',
  description:
    'PutBucketEncryption: aws:kms with the given key and S3 Bucket Keys for new objects (existing objects are not re-encrypted). High risk: readers without kms:Decrypt on the key lose access to new objects. Rollback restores the previous default encryption.',
  resourceTypes: ['AWS::S3::Bucket'],
  params: Type.Object({ kms_key_id: Type.String({ minLength: 1, maxLength: 2048, description: 'KMS key id, ARN or alias ARN' }) }, { additionalProperties: false }),
  permissions: ['s3:GetEncryptionConfiguration', 's3:PutEncryptionConfiguration'],
  risk: 'high',
  read: ({ source, aws }, target) =>
    withClient(s3Client(source, aws), async (s3) => {
      try {
        const rules = (await s3.send(new GetBucketEncryptionCommand({ Bucket: target.resource_id }))).ServerSideEncryptionConfiguration?.Rules ?? [];
        const found = rules.find((r) => r.ApplyServerSideEncryptionByDefault);
        const byDefault = found?.ApplyServerSideEncryptionByDefault;
        return {
          encryption: byDefault?.SSEAlgorithm ? { algorithm: byDefault.SSEAlgorithm, kms_key_id: byDefault.KMSMasterKeyID ?? null, bucket_key_enabled: found?.BucketKeyEnabled === true } : null,
        };
      } catch (error) {
        if (isError(error, 'ServerSideEncryptionConfigurationNotFoundError')) return { encryption: null };
        throw error;
      }
    }),
  desired: (_before, { params }) => ({ encryption: { algorithm: 'aws:kms', kms_key_id: params.kms_key_id as string, bucket_key_enabled: true } }),
  apply: ({ source, aws }, target, change) =>
    withClient(s3Client(source, aws), async (s3) => ({
      requestIds: requestIds(
        await s3.send(new PutBucketEncryptionCommand({ Bucket: target.resource_id, ServerSideEncryptionConfiguration: { Rules: [rule(change.after.encryption as Encryption)] } })),
      ),
    })),
  rollback: ({ source, aws }, target, change) =>
    withClient(s3Client(source, aws), async (s3) => {
      const before = change.before.encryption as Encryption | null;
      const answer = before
        ? await s3.send(new PutBucketEncryptionCommand({ Bucket: target.resource_id, ServerSideEncryptionConfiguration: { Rules: [rule(before)] } }))
        : await s3.send(new DeleteBucketEncryptionCommand({ Bucket: target.resource_id }));
      return { requestIds: requestIds(answer) };
    }),
});
