import { Type } from '@sinclair/typebox';
import { GetBucketVersioningCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { s3Client, withClient } from '../aws.js';
import { defineAction, requestIds } from './action.js';

/** S3 versioning on the bucket. */
export const s3EnableVersioning = defineAction({
  name: 's3_enable_versioning',
  description:
    'PutBucketVersioning Enabled. A bucket that has been versioned can never return to unversioned: rollback suspends versioning (existing versions are kept), which is what "Off" can be restored to.',
  resourceTypes: ['AWS::S3::Bucket'],
  params: Type.Object({}, { additionalProperties: false }),
  permissions: ['s3:GetBucketVersioning', 's3:PutBucketVersioning'],
  risk: 'low',
  read: ({ source, aws }, target) =>
    withClient(s3Client(source, aws), async (s3) => ({ versioning: (await s3.send(new GetBucketVersioningCommand({ Bucket: target.resource_id }))).Status ?? 'Off' })),
  desired: () => ({ versioning: 'Enabled' }),
  apply: ({ source, aws }, target) =>
    withClient(s3Client(source, aws), async (s3) => ({
      requestIds: requestIds(await s3.send(new PutBucketVersioningCommand({ Bucket: target.resource_id, VersioningConfiguration: { Status: 'Enabled' } }))),
    })),
  rollback: ({ source, aws }, target) =>
    withClient(s3Client(source, aws), async (s3) => ({
      requestIds: requestIds(await s3.send(new PutBucketVersioningCommand({ Bucket: target.resource_id, VersioningConfiguration: { Status: 'Suspended' } }))),
    })),
  rolledBack: (state, change) => state.versioning === (change.before.versioning === 'Enabled' ? 'Enabled' : 'Suspended'),
});
