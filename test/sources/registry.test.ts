import t from 'tap';
import { COLLECTORS, COLLECTOR_NAMES, collectorNamed } from '../../src/sources/collectors/index.js';

const EXPECTED = [
  's3', 'ec2', 'kms', 'cloudtrail', 'iam', 'rds', 'config', 'securityhub', 'lakeformation',
  // The SOC 2 Phase-0 baseline (issue 17).
  'guardduty', 'macie', 'accessanalyzer', 'vpc', 'logs', 's3account', 'configrecorder', 'backup', 'dynamodb', 'secretsmanager',
];

t.test('the registry: every collector by its name', async (t) => {
  t.same([...COLLECTOR_NAMES].sort(), [...EXPECTED].sort());
  for (const name of EXPECTED) {
    t.equal(collectorNamed(name), COLLECTORS[name], name);
    t.equal(collectorNamed(name).name, name);
  }
  t.ok(Object.isFrozen(COLLECTORS), 'read-only');
});

t.test('an unknown name: an error that lists the valid ones', async (t) => {
  for (const name of ['s4', '', 'S3', 'toString', '__proto__', 'constructor']) {
    t.throws(() => collectorNamed(name), { message: `unknown collector "${name}"; valid collectors: ${COLLECTOR_NAMES.join(', ')}` }, JSON.stringify(name));
  }
  t.throws(() => collectorNamed('glue'), /valid collectors: s3, ec2, kms, cloudtrail, iam, rds, config, securityhub, lakeformation, guardduty, macie, accessanalyzer, vpc, logs, s3account, configrecorder, backup, dynamodb, secretsmanager$/);
});

t.test('every collector declares what it is and the IAM actions it needs', async (t) => {
  for (const collector of Object.values(COLLECTORS)) {
    t.ok(collector.description.length > 20, `${collector.name}: described`);
    t.ok(collector.permissions.length > 0, `${collector.name}: permissions`);
    for (const action of collector.permissions) t.match(action, /^[a-z0-9-]+:[A-Za-z]+$/, `${collector.name}: ${action}`);
    t.equal(new Set(collector.permissions).size, collector.permissions.length, `${collector.name}: no duplicates`);
    t.equal(typeof collector.collect, 'function');
  }
  // The actions behind each API call (some are not named like the operation).
  t.same(COLLECTORS.s3!.permissions, [
    's3:ListAllMyBuckets',
    's3:GetBucketLocation',
    's3:GetBucketAcl',
    's3:GetBucketPolicy',
    's3:GetBucketPublicAccessBlock',
    's3:GetEncryptionConfiguration',
    's3:GetBucketVersioning',
    's3:GetBucketLogging',
    's3:GetLifecycleConfiguration',
    's3:GetBucketTagging',
  ]);
  t.same(COLLECTORS.lakeformation!.permissions, ['lakeformation:GetDataLakeSettings', 'lakeformation:ListPermissions', 'lakeformation:GetLFTagExpression', 'lakeformation:ListLFTags', 'lakeformation:GetResourceLFTags']);
});
