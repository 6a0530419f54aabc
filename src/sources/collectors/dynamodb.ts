import { DescribeContinuousBackupsCommand, DescribeTableCommand, DynamoDBClient, ListTagsOfResourceCommand, paginateListTables } from '@aws-sdk/client-dynamodb';
import { allPages, clientConfig, throttled, defineCollector, mapLimit, tagRecord } from './common.js';

/** DynamoDB tables: point-in-time recovery and server-side encryption (AWS::DynamoDB::Table). */
export const dynamodbCollector = defineCollector({
  name: 'dynamodb',
  description: 'DynamoDB tables of the region: point-in-time recovery, server-side encryption type (KMS or the AWS-owned default) and tags (AWS::DynamoDB::Table).',
  permissions: ['dynamodb:ListTables', 'dynamodb:DescribeTable', 'dynamodb:DescribeContinuousBackups', 'dynamodb:ListTagsOfResource'],
  resourceTypes: ['AWS::DynamoDB::Table'],
  async run(run) {
    const { context } = run;
    const ddb = throttled(new DynamoDBClient(clientConfig(context)), context);
    try {
      const names = await run.attempt('dynamodb:ListTables', () => allPages(paginateListTables({ client: ddb }, {}), (page) => page.TableNames));
      await mapLimit(names ?? [], 4, async (name) => {
        const table = await run.attempt(`dynamodb:DescribeTable (${name})`, async () => (await ddb.send(new DescribeTableCommand({ TableName: name }))).Table);
        const backups = await run.attempt(`dynamodb:DescribeContinuousBackups (${name})`, async () => (await ddb.send(new DescribeContinuousBackupsCommand({ TableName: name }))).ContinuousBackupsDescription);
        const tags = table?.TableArn ? await run.attempt(`dynamodb:ListTagsOfResource (${name})`, async () => (await ddb.send(new ListTagsOfResourceCommand({ ResourceArn: table.TableArn }))).Tags ?? []) : undefined;
        // A table missing any part is left out rather than guessed; its gap says why.
        if (!table || !backups || !tags) return;
        const sse = table.SSEDescription;
        run.resource(
          'AWS::DynamoDB::Table',
          name,
          {
            point_in_time_recovery: backups.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus === 'ENABLED',
            sse_type: sse?.Status === 'ENABLED' || sse?.Status === 'ENABLING' ? (sse.SSEType ?? 'AES256') : 'DEFAULT',
            kms_key_arn: sse?.KMSMasterKeyArn ?? null,
          },
          { arn: table.TableArn, tags: tagRecord(tags) },
        );
      });
    } finally {
      ddb.destroy();
    }
  },
});
