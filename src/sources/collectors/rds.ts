import { paginateDescribeDBClusterParameters, paginateDescribeDBClusters, paginateDescribeDBInstances, paginateDescribeDBParameters, RDSClient, type Parameter } from '@aws-sdk/client-rds';
import { allPages, clientConfig, throttled, defineCollector, tagRecord, type Run } from './common.js';

/** The parameters that make PostgreSQL (rds.force_ssl) and MySQL (require_secure_transport) engines refuse connections without TLS. */
const SSL_PARAMETERS = new Set(['rds.force_ssl', 'require_secure_transport']);

/** true/false when the group sets one of SSL_PARAMETERS; null when it sets none or the group cannot be read (rules read null as not forced). */
function forcesSsl(parameters: Parameter[] | undefined): boolean | null {
  const values = (parameters ?? []).filter((p) => p.ParameterName && SSL_PARAMETERS.has(p.ParameterName) && p.ParameterValue !== undefined).map((p) => p.ParameterValue!.toLowerCase());
  if (values.length === 0) return null;
  return values.some((v) => v === '1' || v === 'on' || v === 'true');
}

const GROUP_NOT_FOUND = ['DBParameterGroupNotFound', 'DBParameterGroupNotFoundFault', 'DBClusterParameterGroupNotFound', 'DBClusterParameterGroupNotFoundFault'];

/** Each parameter group read once per run; one that does not exist (moto's defaults) answers null. */
function sslReader(run: Run, rds: RDSClient) {
  const groups = new Map<string, Promise<boolean | null | undefined>>();
  return (kind: 'cluster' | 'instance', name: string | undefined): Promise<boolean | null | undefined> => {
    if (!name) return Promise.resolve(null);
    const key = `${kind}:${name}`;
    if (!groups.has(key)) {
      groups.set(
        key,
        kind === 'cluster'
          ? run.attempt(`rds:DescribeDBClusterParameters (${name})`, async () => forcesSsl(await allPages(paginateDescribeDBClusterParameters({ client: rds }, { DBClusterParameterGroupName: name }), (p) => p.Parameters)), { notFound: { codes: GROUP_NOT_FOUND, value: null } })
          : run.attempt(`rds:DescribeDBParameters (${name})`, async () => forcesSsl(await allPages(paginateDescribeDBParameters({ client: rds }, { DBParameterGroupName: name }), (p) => p.Parameters)), { notFound: { codes: GROUP_NOT_FOUND, value: null } }),
      );
    }
    return groups.get(key)!;
  };
}

export const rdsCollector = defineCollector({
  name: 'rds',
  description: 'RDS DB clusters and DB instances: engine, database name, storage encryption, automated backup retention and whether the parameter group forces SSL (AWS::RDS::DBCluster, AWS::RDS::DBInstance).',
  permissions: ['rds:DescribeDBClusters', 'rds:DescribeDBInstances', 'rds:DescribeDBClusterParameters', 'rds:DescribeDBParameters'],
  resourceTypes: ['AWS::RDS::DBCluster', 'AWS::RDS::DBInstance'],
  async run(run) {
    const { context } = run;
    const rds = throttled(new RDSClient(clientConfig(context)), context);
    const ssl = sslReader(run, rds);
    try {
      const clusters = await run.attempt('rds:DescribeDBClusters', () => allPages(paginateDescribeDBClusters({ client: rds, pageSize: 100 }, {}), (page) => page.DBClusters), { types: ['AWS::RDS::DBCluster'] });
      for (const cluster of clusters ?? []) {
        if (!cluster.DBClusterIdentifier) continue;
        const forceSsl = await ssl('cluster', cluster.DBClusterParameterGroup);
        if (forceSsl === undefined) continue;
        run.resource(
          'AWS::RDS::DBCluster',
          cluster.DBClusterIdentifier,
          { engine: cluster.Engine ?? '', database_name: cluster.DatabaseName ?? null, storage_encrypted: cluster.StorageEncrypted === true, backup_retention_period: cluster.BackupRetentionPeriod ?? 0, force_ssl: forceSsl },
          { arn: cluster.DBClusterArn, tags: tagRecord(cluster.TagList) },
        );
      }
      const instances = await run.attempt('rds:DescribeDBInstances', () => allPages(paginateDescribeDBInstances({ client: rds, pageSize: 100 }, {}), (page) => page.DBInstances), { types: ['AWS::RDS::DBInstance'] });
      for (const instance of instances ?? []) {
        if (!instance.DBInstanceIdentifier) continue;
        const forceSsl = await ssl('instance', instance.DBParameterGroups?.[0]?.DBParameterGroupName);
        if (forceSsl === undefined) continue;
        run.resource(
          'AWS::RDS::DBInstance',
          instance.DBInstanceIdentifier,
          {
            engine: instance.Engine ?? '',
            database_name: instance.DBName ?? null,
            cluster: instance.DBClusterIdentifier ?? null,
            storage_encrypted: instance.StorageEncrypted === true,
            backup_retention_period: instance.BackupRetentionPeriod ?? 0,
            force_ssl: forceSsl,
          },
          { arn: instance.DBInstanceArn, tags: tagRecord(instance.TagList) },
        );
      }
    } finally {
      rds.destroy();
    }
  },
});
