import { CloudWatchLogsClient, paginateDescribeLogGroups } from '@aws-sdk/client-cloudwatch-logs';
import { allPages, clientConfig, throttled, defineCollector } from './common.js';

/** CloudWatch Logs log groups and their retention (AWS::Logs::LogGroup; retention_in_days null = never expire). */
export const logsCollector = defineCollector({
  name: 'logs',
  description: 'CloudWatch Logs log groups of the region and their retention in days, null when none is set (AWS::Logs::LogGroup).',
  permissions: ['logs:DescribeLogGroups'],
  resourceTypes: ['AWS::Logs::LogGroup'],
  async run(run) {
    const { context } = run;
    const logs = throttled(new CloudWatchLogsClient(clientConfig(context)), context);
    try {
      const groups = await run.attempt('logs:DescribeLogGroups', () => allPages(paginateDescribeLogGroups({ client: logs }, {}), (page) => page.logGroups));
      for (const group of groups ?? []) {
        if (!group.logGroupName) continue;
        run.resource('AWS::Logs::LogGroup', group.logGroupName, { retention_in_days: group.retentionInDays ?? null }, { arn: group.arn?.replace(/:\*$/, '') });
      }
    } finally {
      logs.destroy();
    }
  },
});
