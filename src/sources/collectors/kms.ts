import { DescribeKeyCommand, GetKeyRotationStatusCommand, KMSClient, paginateListKeys } from '@aws-sdk/client-kms';
import { allPages, clientConfig, throttled, defineCollector, mapLimit } from './common.js';

const CONCURRENCY = 8;

export const kmsCollector = defineCollector({
  name: 'kms',
  description: 'KMS keys: who manages them, their state and, for customer-managed keys, whether automatic rotation is on (AWS::KMS::Key).',
  permissions: ['kms:ListKeys', 'kms:DescribeKey', 'kms:GetKeyRotationStatus'],
  resourceTypes: ['AWS::KMS::Key'],
  async run(run) {
    const { context } = run;
    const kms = throttled(new KMSClient(clientConfig(context)), context);
    try {
      const keys = await run.attempt('kms:ListKeys', () => allPages(paginateListKeys({ client: kms, pageSize: 1000 }, {}), (page) => page.Keys));
      const ids = (keys ?? []).flatMap((k) => (k.KeyId ? [k.KeyId] : []));
      const described = await mapLimit(ids, CONCURRENCY, async (KeyId) => {
        const metadata = await run.attempt(`kms:DescribeKey (key ${KeyId})`, async () => (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata);
        if (!metadata) return undefined;
        const manager = metadata.KeyManager === 'AWS' ? 'AWS' : 'CUSTOMER';
        // AWS-managed keys rotate every year and cannot be configured: not asked (and always true).
        let rotation: boolean | undefined = true;
        if (manager === 'CUSTOMER') {
          rotation = await run.attempt(`kms:GetKeyRotationStatus (key ${KeyId})`, async () => (await kms.send(new GetKeyRotationStatusCommand({ KeyId }))).KeyRotationEnabled === true, { notFound: {
            // Keys that cannot rotate automatically (asymmetric, HMAC, imported material, custom key
            // stores) and keys pending deletion or import answer with these: rotation is off.
            codes: ['UnsupportedOperationException', 'KMSInvalidStateException'],
            value: false,
          } });
        }
        if (rotation === undefined) return undefined;
        return { id: KeyId, arn: metadata.Arn, configuration: { key_manager: manager, key_state: metadata.KeyState ?? 'Unknown', key_rotation_enabled: rotation } };
      });
      for (const key of described) if (key) run.resource('AWS::KMS::Key', key.id, key.configuration, { arn: key.arn });
    } finally {
      kms.destroy();
    }
  },
});
