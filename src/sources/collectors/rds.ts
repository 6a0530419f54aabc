import { paginateDescribeDBClusters, paginateDescribeDBInstances, RDSClient } from '@aws-sdk/client-rds';
import { allPages, clientConfig, defineCollector, tagRecord } from './common.js';

export const rdsCollector = defineCollector({
  name: 'rds',
  description: 'RDS DB clusters and DB instances: engine, storage encryption and automated backup retention (AWS::RDS::DBCluster, AWS::RDS::DBInstance).',
  permissions: ['rds:DescribeDBClusters', 'rds:DescribeDBInstances'],
  resourceTypes: ['AWS::RDS::DBCluster', 'AWS::RDS::DBInstance'],
  async run(run) {
    const { context } = run;
    const rds = new RDSClient(clientConfig(context));
    try {
      const clusters = await run.attempt('rds:DescribeDBClusters', () => allPages(paginateDescribeDBClusters({ client: rds, pageSize: 100 }, {}), (page) => page.DBClusters), { types: ['AWS::RDS::DBCluster'] });
      for (const cluster of clusters ?? []) {
        if (!cluster.DBClusterIdentifier) continue;
        run.resource(
          'AWS::RDS::DBCluster',
          cluster.DBClusterIdentifier,
          { engine: cluster.Engine ?? '', storage_encrypted: cluster.StorageEncrypted === true, backup_retention_period: cluster.BackupRetentionPeriod ?? 0 },
          { arn: cluster.DBClusterArn, tags: tagRecord(cluster.TagList) },
        );
      }
      const instances = await run.attempt('rds:DescribeDBInstances', () => allPages(paginateDescribeDBInstances({ client: rds, pageSize: 100 }, {}), (page) => page.DBInstances), { types: ['AWS::RDS::DBInstance'] });
      for (const instance of instances ?? []) {
        if (!instance.DBInstanceIdentifier) continue;
        run.resource(
          'AWS::RDS::DBInstance',
          instance.DBInstanceIdentifier,
          { engine: instance.Engine ?? '', storage_encrypted: instance.StorageEncrypted === true, backup_retention_period: instance.BackupRetentionPeriod ?? 0 },
          { arn: instance.DBInstanceArn, tags: tagRecord(instance.TagList) },
        );
      }
    } finally {
      rds.destroy();
    }
  },
});
