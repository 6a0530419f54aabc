import { EC2Client, paginateDescribeFlowLogs, paginateDescribeVpcs } from '@aws-sdk/client-ec2';
import { allPages, clientConfig, throttled, defineCollector, partition, tagRecord } from './common.js';

/** VPCs and the flow logs attached to each (AWS::EC2::VPC). */
export const vpcCollector = defineCollector({
  name: 'vpc',
  description: 'VPCs of the region and their flow logs: how many are active and what traffic they capture (AWS::EC2::VPC).',
  permissions: ['ec2:DescribeVpcs', 'ec2:DescribeFlowLogs'],
  resourceTypes: ['AWS::EC2::VPC'],
  async run(run) {
    const { context } = run;
    const ec2 = throttled(new EC2Client(clientConfig(context)), context);
    try {
      const vpcs = await run.attempt('ec2:DescribeVpcs', () => allPages(paginateDescribeVpcs({ client: ec2 }, {}), (page) => page.Vpcs));
      const flowLogs = await run.attempt('ec2:DescribeFlowLogs', () => allPages(paginateDescribeFlowLogs({ client: ec2 }, {}), (page) => page.FlowLogs));
      // Without the flow logs, no VPC can be judged: none is reported (the gap says why).
      if (!vpcs || !flowLogs) return;
      for (const vpc of vpcs) {
        if (!vpc.VpcId) continue;
        const logs = flowLogs.filter((f) => f.ResourceId === vpc.VpcId).map((f) => ({ id: f.FlowLogId ?? '', status: f.FlowLogStatus ?? '', traffic_type: f.TrafficType ?? '', destination_type: f.LogDestinationType ?? '' }));
        run.resource(
          'AWS::EC2::VPC',
          vpc.VpcId,
          { is_default: vpc.IsDefault === true, flow_logs: logs, active_flow_logs: logs.filter((l) => l.status === 'ACTIVE').length },
          { arn: `arn:${partition(context.region)}:ec2:${context.region}:${context.account}:vpc/${vpc.VpcId}`, tags: tagRecord(vpc.Tags) },
        );
      }
    } finally {
      ec2.destroy();
    }
  },
});
