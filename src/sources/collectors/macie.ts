import { GetMacieSessionCommand, Macie2Client } from '@aws-sdk/client-macie2';
import { clientConfig, throttled, defineCollector } from './common.js';

/**
 * Whether Macie is enabled in the region (AWS::Macie::RegionalSettings, id account:region). Macie
 * answers AccessDeniedException "Macie is not enabled" when it is off: that answer is data.
 */
export const macieCollector = defineCollector({
  name: 'macie',
  description: 'Whether Amazon Macie is enabled in the region (AWS::Macie::RegionalSettings, id account:region).',
  permissions: ['macie2:GetMacieSession'],
  resourceTypes: ['AWS::Macie::RegionalSettings'],
  async run(run) {
    const { context } = run;
    const macie = throttled(new Macie2Client(clientConfig(context)), context);
    try {
      const status = await run.attempt(
        'macie2:GetMacieSession',
        async () => (await macie.send(new GetMacieSessionCommand({}))).status ?? 'UNKNOWN',
        { notFound: { codes: ['AccessDeniedException', 'ResourceNotFoundException'], value: 'DISABLED' } },
      );
      if (status !== undefined) run.resource('AWS::Macie::RegionalSettings', `${context.account}:${context.region}`, { enabled: status === 'ENABLED', status });
    } finally {
      macie.destroy();
    }
  },
});
