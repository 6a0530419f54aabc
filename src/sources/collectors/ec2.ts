import { EC2Client, GetEbsEncryptionByDefaultCommand, paginateDescribeVolumes } from '@aws-sdk/client-ec2';
import { allPages, clientConfig, throttled, defineCollector, partition, tagRecord } from './common.js';

export const ec2Collector = defineCollector({
  name: 'ec2',
  description: 'EBS volumes and their encryption (AWS::EC2::Volume), and the regional EBS encryption-by-default setting (AWS::EC2::RegionalSettings).',
  permissions: ['ec2:DescribeVolumes', 'ec2:GetEbsEncryptionByDefault'],
  resourceTypes: ['AWS::EC2::Volume', 'AWS::EC2::RegionalSettings'],
  async run(run) {
    const { context } = run;
    const ec2 = throttled(new EC2Client(clientConfig(context)), context);
    try {
      const volumes = await run.attempt('ec2:DescribeVolumes', () => allPages(paginateDescribeVolumes({ client: ec2, pageSize: 500 }, {}), (page) => page.Volumes), { types: ['AWS::EC2::Volume'] });
      for (const volume of volumes ?? []) {
        if (!volume.VolumeId) continue;
        run.resource(
          'AWS::EC2::Volume',
          volume.VolumeId,
          { encrypted: volume.Encrypted === true, state: volume.State ?? 'unknown' },
          { arn: `arn:${partition(context.region)}:ec2:${context.region}:${context.account}:volume/${volume.VolumeId}`, tags: tagRecord(volume.Tags) },
        );
      }
      const byDefault = await run.attempt('ec2:GetEbsEncryptionByDefault', async () => (await ec2.send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault === true, { types: ['AWS::EC2::RegionalSettings'] });
      if (byDefault !== undefined) run.resource('AWS::EC2::RegionalSettings', `${context.account}:${context.region}`, { ebs_encryption_by_default: byDefault });
    } finally {
      ec2.destroy();
    }
  },
});
