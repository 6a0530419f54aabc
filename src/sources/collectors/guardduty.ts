import { GetDetectorCommand, GuardDutyClient, paginateListDetectors } from '@aws-sdk/client-guardduty';
import { allPages, clientConfig, throttled, defineCollector } from './common.js';

/** GuardDuty is regional: one AWS::GuardDuty::RegionalSettings per account and region, detectors and their status. */
export const guarddutyCollector = defineCollector({
  name: 'guardduty',
  description: 'GuardDuty detectors of the region and whether one is enabled (AWS::GuardDuty::RegionalSettings, id account:region).',
  permissions: ['guardduty:ListDetectors', 'guardduty:GetDetector'],
  resourceTypes: ['AWS::GuardDuty::RegionalSettings'],
  async run(run) {
    const { context } = run;
    const guardduty = throttled(new GuardDutyClient(clientConfig(context)), context);
    try {
      const ids = await run.attempt('guardduty:ListDetectors', () => allPages(paginateListDetectors({ client: guardduty }, {}), (page) => page.DetectorIds));
      if (!ids) return;
      const detectors = [];
      for (const id of ids) {
        const status = await run.attempt(`guardduty:GetDetector (${id})`, async () => (await guardduty.send(new GetDetectorCommand({ DetectorId: id }))).Status ?? 'UNKNOWN');
        // A detector whose status could not be read leaves the region unjudged (gap), never enabled.
        if (status === undefined) return;
        detectors.push({ id, status });
      }
      run.resource('AWS::GuardDuty::RegionalSettings', `${context.account}:${context.region}`, { detector_enabled: detectors.some((d) => d.status === 'ENABLED'), detectors });
    } finally {
      guardduty.destroy();
    }
  },
});
