import { GetPublicAccessBlockCommand, S3ControlClient } from '@aws-sdk/client-s3-control';
import type { CollectorContext } from '../types.js';
import { clientConfig, throttled, defineCollector } from './common.js';
import { normalisePublicAccessBlock } from './s3.js';

/**
 * The account-level S3 Block Public Access (AWS::S3::AccountPublicAccessBlock, id = account). S3
 * Control's endpoint rules put the account in the host name (<account>.s3-control...); with an
 * explicit endpoint (moto, a VPC endpoint) that endpoint is used as it is, and the account travels
 * in the x-amz-account-id header as always.
 */
export function s3ControlConfig(context: Pick<CollectorContext, 'aws'>) {
  const { endpoint } = context.aws;
  return { ...clientConfig(context as CollectorContext), ...(endpoint ? { endpointProvider: () => ({ url: new URL(endpoint) }) } : {}) };
}

export const s3AccountCollector = defineCollector({
  name: 's3account',
  description: 'The account-level S3 Block Public Access settings (AWS::S3::AccountPublicAccessBlock, id = account; public_access_block null when none is set).',
  permissions: ['s3:GetAccountPublicAccessBlock'],
  resourceTypes: ['AWS::S3::AccountPublicAccessBlock'],
  async run(run) {
    const { context } = run;
    const s3control = throttled(new S3ControlClient(s3ControlConfig(context)), context);
    try {
      const block = await run.attempt(
        's3:GetAccountPublicAccessBlock',
        async () => {
          const c = (await s3control.send(new GetPublicAccessBlockCommand({ AccountId: context.account }))).PublicAccessBlockConfiguration ?? {};
          return normalisePublicAccessBlock(c);
        },
        // No account-level block configured: data, not a failure.
        { notFound: { codes: ['NoSuchPublicAccessBlockConfiguration'], value: null } },
      );
      if (block !== undefined) run.resource('AWS::S3::AccountPublicAccessBlock', context.account, { public_access_block: block });
    } finally {
      s3control.destroy();
    }
  },
});
