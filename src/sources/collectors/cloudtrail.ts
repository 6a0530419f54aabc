import { CloudTrailClient, DescribeTrailsCommand, GetTrailStatusCommand } from '@aws-sdk/client-cloudtrail';
import { clientConfig, throttled, defineCollector, mapLimit } from './common.js';

export const cloudtrailCollector = defineCollector({
  name: 'cloudtrail',
  description: 'CloudTrail trails whose home is this region: multi-region, log file validation, logging (AWS::CloudTrail::Trail).',
  permissions: ['cloudtrail:DescribeTrails', 'cloudtrail:GetTrailStatus'],
  resourceTypes: ['AWS::CloudTrail::Trail'],
  async run(run) {
    const { context } = run;
    const cloudtrail = throttled(new CloudTrailClient(clientConfig(context)), context);
    try {
      // DescribeTrails is not paginated: it answers every trail at once. Shadow trails (a multi-region
      // trail seen from its other regions, an organization trail seen from member accounts) are
      // included, but each trail is reported only from its home region, so that a source over several
      // regions counts it once and a member account still sees the organization trail that logs it.
      const trails = await run.attempt('cloudtrail:DescribeTrails', async () => (await cloudtrail.send(new DescribeTrailsCommand({ includeShadowTrails: true }))).trailList ?? []);
      const home = (trails ?? []).filter((t) => t.Name && (!t.HomeRegion || t.HomeRegion === context.region));
      const statuses = await mapLimit(home, 8, (trail) =>
        // A shadow trail's status can only be asked for by ARN.
        run.attempt(`cloudtrail:GetTrailStatus (trail ${trail.Name})`, () => cloudtrail.send(new GetTrailStatusCommand({ Name: trail.TrailARN ?? trail.Name }))),
      );
      home.forEach((trail, i) => {
        const status = statuses[i];
        if (!status) return;
        run.resource(
          'AWS::CloudTrail::Trail',
          trail.Name!,
          { is_multi_region_trail: trail.IsMultiRegionTrail === true, log_file_validation_enabled: trail.LogFileValidationEnabled === true, is_logging: status.IsLogging === true },
          { arn: trail.TrailARN },
        );
      });
    } finally {
      cloudtrail.destroy();
    }
  },
});
