import { Type } from '@sinclair/typebox';
import { DeletePublicAccessBlockCommand, GetPublicAccessBlockCommand, PutPublicAccessBlockCommand, type PublicAccessBlockConfiguration } from '@aws-sdk/client-s3';
import { isError } from '../../sources/collectors/common.js';
import { s3Client, withClient } from '../aws.js';
import { defineAction, requestIds } from './action.js';

const ALL_BLOCKED = { block_public_acls: true, ignore_public_acls: true, block_public_policy: true, restrict_public_buckets: true };
type Block = typeof ALL_BLOCKED;

const toAws = (b: Block): PublicAccessBlockConfiguration => ({
  BlockPublicAcls: b.block_public_acls,
  IgnorePublicAcls: b.ignore_public_acls,
  BlockPublicPolicy: b.block_public_policy,
  RestrictPublicBuckets: b.restrict_public_buckets,
});

/** S3 block public access on the bucket (all four settings), which neutralises public ACLs and policies. */
export const s3BlockPublicAccess = defineAction({
  name: 's3_block_public_access',
  description: 'PutPublicAccessBlock with all four settings on the bucket: public ACLs and bucket policies stop granting public access. Rollback restores the previous block (or deletes it if there was none).',
  resourceTypes: ['AWS::S3::Bucket'],
  params: Type.Object({}, { additionalProperties: false }),
  permissions: ['s3:GetBucketPublicAccessBlock', 's3:PutBucketPublicAccessBlock'],
  risk: 'low',
  read: ({ source, aws }, target) =>
    withClient(s3Client(source, aws), async (s3) => {
      try {
        const c = (await s3.send(new GetPublicAccessBlockCommand({ Bucket: target.resource_id }))).PublicAccessBlockConfiguration ?? {};
        return {
          public_access_block: {
            block_public_acls: c.BlockPublicAcls === true,
            ignore_public_acls: c.IgnorePublicAcls === true,
            block_public_policy: c.BlockPublicPolicy === true,
            restrict_public_buckets: c.RestrictPublicBuckets === true,
          },
        };
      } catch (error) {
        if (isError(error, 'NoSuchPublicAccessBlockConfiguration')) return { public_access_block: null };
        throw error;
      }
    }),
  desired: () => ({ public_access_block: ALL_BLOCKED }),
  apply: ({ source, aws }, target) =>
    withClient(s3Client(source, aws), async (s3) => ({
      requestIds: requestIds(await s3.send(new PutPublicAccessBlockCommand({ Bucket: target.resource_id, PublicAccessBlockConfiguration: toAws(ALL_BLOCKED) }))),
    })),
  rollback: ({ source, aws }, target, change) =>
    withClient(s3Client(source, aws), async (s3) => {
      const before = change.before.public_access_block as Block | null;
      const answer = before
        ? await s3.send(new PutPublicAccessBlockCommand({ Bucket: target.resource_id, PublicAccessBlockConfiguration: toAws(before) }))
        : await s3.send(new DeletePublicAccessBlockCommand({ Bucket: target.resource_id }));
      return { requestIds: requestIds(answer) };
    }),
});
