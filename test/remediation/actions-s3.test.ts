import { CreateBucketCommand, GetBucketEncryptionCommand, GetBucketVersioningCommand } from '@aws-sdk/client-s3';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { s3DefaultEncryptionKms } from '../../src/remediation/actions/s3-default-encryption-kms.js';
import { s3EnableVersioning } from '../../src/remediation/actions/s3-enable-versioning.js';
import { MOTO_ACCOUNT, motoClient, motoSkip, startMoto } from '../helpers/moto.js';
import { REGION, s3On } from './helpers.js';

t.test('S3 encryption with a KMS key and versioning on moto: plan, apply, verify, rollback', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const s3 = s3On(moto.endpoint);
  const kms = new KMSClient(motoClient(moto.endpoint, REGION));
  t.teardown(() => (s3.destroy(), kms.destroy()));
  await s3.send(new CreateBucketCommand({ Bucket: 'wealth-statements' }));
  const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const target = { resource_type: 'AWS::S3::Bucket', resource_id: 'wealth-statements', account: MOTO_ACCOUNT, region: REGION };
  const context = (params: Record<string, unknown>) => ({
    db: undefined as never,
    source: { id: randomUUID(), name: 'moto', account_id: MOTO_ACCOUNT, region: REGION, role_arn: null },
    aws: { endpoint: moto.endpoint, maxAttempts: 2 },
    params,
    remediationId: randomUUID(),
  });

  const encryption = context({ kms_key_id: keyId });
  const change = await s3DefaultEncryptionKms.plan(encryption, target);
  t.same(change.after, { encryption: { algorithm: 'aws:kms', kms_key_id: keyId, bucket_key_enabled: true } });
  t.not(JSON.stringify(change.before), JSON.stringify(change.after));
  await s3DefaultEncryptionKms.apply(encryption, target, change);
  t.equal(await s3DefaultEncryptionKms.verify(encryption, target, change), true);
  const rule = (await s3.send(new GetBucketEncryptionCommand({ Bucket: 'wealth-statements' }))).ServerSideEncryptionConfiguration!.Rules![0]!;
  t.match(rule, { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyId }, BucketKeyEnabled: true });
  await t.rejects(s3DefaultEncryptionKms.plan(encryption, target), { name: 'NotApplicable', message: /already in the state s3_default_encryption_kms brings it to/ }, 'nothing left to change');
  await s3DefaultEncryptionKms.rollback!(encryption, target, change);
  t.equal(s3DefaultEncryptionKms.rolledBack(await s3DefaultEncryptionKms.read(encryption, target), change), true, 'the previous default encryption is back');

  const versioning = context({});
  const enable = await s3EnableVersioning.plan(versioning, target);
  t.same(enable, { before: { versioning: 'Off' }, after: { versioning: 'Enabled' } });
  await s3EnableVersioning.apply(versioning, target, enable);
  t.equal(await s3EnableVersioning.verify(versioning, target, enable), true);
  await s3EnableVersioning.rollback!(versioning, target, enable);
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: 'wealth-statements' }))).Status, 'Suspended', 'Off can only be restored as Suspended');
  t.equal(s3EnableVersioning.rolledBack(await s3EnableVersioning.read(versioning, target), enable), true);
});
