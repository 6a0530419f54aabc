import { ConfigServiceClient } from '@aws-sdk/client-config-service';
import { S3Client } from '@aws-sdk/client-s3';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { GrantSource } from '../access/grants/lakeformation.js';
import { collectorContext } from '../sources/aws.js';
import { clientConfig } from '../sources/collectors/common.js';
import { assertAccount } from '../sources/identity.js';
import type { AwsSettings } from './actions/action.js';

/** Client settings for the source's account and region, built like the collectors' (endpoint, role, retries with backoff). */
export function settingsFor(source: GrantSource, aws: AwsSettings) {
  const context = collectorContext(
    { account: source.account_id, region: source.region, roleArn: source.role_arn },
    { endpoint: aws.endpoint, now: Math.floor(Date.now() / 1000), maxAttempts: aws.maxAttempts },
  );
  return clientConfig(context);
}

/**
 * Refuses (IdentityMismatch / IdentityUnknown) unless the source's credentials reach the source's
 * account: checked before every plan, step, verify and rollback, so a mislabelled source never
 * changes whatever account its credentials happen to reach.
 */
export async function assertSourceIdentity(source: GrantSource, aws: AwsSettings): Promise<void> {
  const context = collectorContext(
    { account: source.account_id, region: source.region, roleArn: source.role_arn },
    { endpoint: aws.endpoint, now: Math.floor(Date.now() / 1000), maxAttempts: aws.maxAttempts },
  );
  await assertAccount(context.aws, source.account_id);
}

export const s3Client = (source: GrantSource, aws: AwsSettings) => new S3Client({ ...settingsFor(source, aws), ...(aws.endpoint ? { forcePathStyle: true } : {}) });
export const securityHubClient = (source: GrantSource, aws: AwsSettings) => new SecurityHubClient(settingsFor(source, aws));
export const configClient = (source: GrantSource, aws: AwsSettings) => new ConfigServiceClient(settingsFor(source, aws));

/** Runs `work` with a client that is destroyed afterwards. */
export async function withClient<C extends { destroy(): void }, T>(client: C, work: (client: C) => Promise<T>): Promise<T> {
  try {
    return await work(client);
  } finally {
    client.destroy();
  }
}
