import { paginateListSecrets, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { allPages, clientConfig, throttled, defineCollector, epochSeconds, tagRecord } from './common.js';

/** Secrets Manager secrets and their rotation (AWS::SecretsManager::Secret). */
export const secretsManagerCollector = defineCollector({
  name: 'secretsmanager',
  description: 'Secrets Manager secrets of the region: rotation enabled, rotation interval, last rotation and tags (AWS::SecretsManager::Secret).',
  permissions: ['secretsmanager:ListSecrets'],
  resourceTypes: ['AWS::SecretsManager::Secret'],
  async run(run) {
    const { context } = run;
    const sm = throttled(new SecretsManagerClient(clientConfig(context)), context);
    try {
      const secrets = await run.attempt('secretsmanager:ListSecrets', () => allPages(paginateListSecrets({ client: sm }, {}), (page) => page.SecretList));
      for (const secret of secrets ?? []) {
        if (!secret.Name) continue;
        run.resource(
          'AWS::SecretsManager::Secret',
          secret.Name,
          { rotation_enabled: secret.RotationEnabled === true, rotation_days: secret.RotationRules?.AutomaticallyAfterDays ?? null, last_rotated: epochSeconds(secret.LastRotatedDate) ?? null },
          { arn: secret.ARN, tags: tagRecord(secret.Tags) },
        );
      }
    } finally {
      sm.destroy();
    }
  },
});
