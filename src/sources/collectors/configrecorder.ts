import { ConfigServiceClient, DescribeConfigurationRecordersCommand, DescribeConfigurationRecorderStatusCommand, DescribeDeliveryChannelsCommand, DescribeDeliveryChannelStatusCommand } from '@aws-sdk/client-config-service';
import { clientConfig, throttled, defineCollector } from './common.js';

/**
 * The AWS Config recorder of the region and its delivery channel, as one
 * AWS::Config::ConfigurationRecorder per account and region (id account:region): whether it records
 * all supported types including global ones, whether it is recording, whether a delivery channel
 * exists and whether its last delivery succeeded. moto lacks DescribeDeliveryChannelStatus: there the
 * region is left unjudged with a gap (tested at the SDK boundary).
 */
export const configRecorderCollector = defineCollector({
  name: 'configrecorder',
  description: 'The AWS Config recorder of the region (all supported types, global types, recording) and its delivery channel (present, last delivery status) (AWS::Config::ConfigurationRecorder, id account:region).',
  permissions: ['config:DescribeConfigurationRecorders', 'config:DescribeConfigurationRecorderStatus', 'config:DescribeDeliveryChannels', 'config:DescribeDeliveryChannelStatus'],
  resourceTypes: ['AWS::Config::ConfigurationRecorder'],
  async run(run) {
    const { context } = run;
    const config = throttled(new ConfigServiceClient(clientConfig(context)), context);
    try {
      const recorders = await run.attempt('config:DescribeConfigurationRecorders', async () => (await config.send(new DescribeConfigurationRecordersCommand({}))).ConfigurationRecorders ?? []);
      const statuses = await run.attempt('config:DescribeConfigurationRecorderStatus', async () => (await config.send(new DescribeConfigurationRecorderStatusCommand({}))).ConfigurationRecordersStatus ?? []);
      const channels = await run.attempt('config:DescribeDeliveryChannels', async () => (await config.send(new DescribeDeliveryChannelsCommand({}))).DeliveryChannels ?? []);
      // Without channels there is no status to read; with some, the status must be read to judge delivery.
      const channelStatus =
        channels && channels.length > 0
          ? await run.attempt('config:DescribeDeliveryChannelStatus', async () => (await config.send(new DescribeDeliveryChannelStatusCommand({}))).DeliveryChannelsStatus ?? [])
          : [];
      if (!recorders || !statuses || !channels || !channelStatus) return;
      const recorder = recorders[0];
      const group = recorder?.recordingGroup;
      const status = statuses.find((s) => s.name === recorder?.name);
      const delivery = channelStatus[0]?.configHistoryDeliveryInfo?.lastStatus ?? channelStatus[0]?.configSnapshotDeliveryInfo?.lastStatus ?? null;
      run.resource('AWS::Config::ConfigurationRecorder', `${context.account}:${context.region}`, {
        recorder_present: recorder !== undefined,
        all_supported: group?.allSupported === true,
        include_global_resource_types: group?.includeGlobalResourceTypes === true,
        recording: status?.recording === true,
        delivery_channel_present: channels.length > 0,
        last_delivery_status: delivery,
      });
    } finally {
      config.destroy();
    }
  },
});
