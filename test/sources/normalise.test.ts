/** The normalisation steps whose inputs moto cannot produce (legacy values, shapes it never returns). */
import t from 'tap';
import { bucketRegion, policyStatements } from '../../src/sources/collectors/s3.js';
import { normaliseFinding } from '../../src/sources/collectors/securityhub.js';

t.test('bucket policies: statements reduced to effect, principal and actions', async (t) => {
  const policy = (statement: unknown) => JSON.stringify({ Version: '2012-10-17', Statement: statement });
  t.same(policyStatements(policy({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: '*' })), [{ effect: 'Allow', principal: '*', actions: ['s3:GetObject'] }], 'a single statement, not in an array');
  t.same(
    policyStatements(
      policy([
        { Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::444455556666:root', '*'] }, Action: ['s3:GetObject'] },
        { Effect: 'Allow', Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject' },
        { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::444455556666:role/reader' }, Action: 's3:GetObject' },
        { Effect: 'Deny', NotPrincipal: { AWS: 'arn:aws:iam::111122223333:role/admin' }, Action: 's3:DeleteBucket' },
        { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::444455556666:root' }, NotAction: 's3:DeleteObject' },
      ]),
    ),
    [
      { effect: 'Allow', principal: '*', actions: ['s3:GetObject'] },
      { effect: 'Allow', principal: 'logging.s3.amazonaws.com', actions: ['s3:PutObject'] },
      { effect: 'Allow', principal: 'arn:aws:iam::444455556666:role/reader', actions: ['s3:GetObject'] },
      { effect: 'Deny', principal: '*', actions: ['s3:DeleteBucket'] },
      { effect: 'Allow', principal: 'arn:aws:iam::444455556666:root', actions: ['*'] },
    ],
    '"*" among several principals is anyone; NotPrincipal and NotAction are read fail-closed',
  );
  t.same(policyStatements('{}'), []);
});

t.test('GetBucketLocation: null or "" is us-east-1, the legacy "EU" is eu-west-1', async (t) => {
  t.equal(bucketRegion(undefined), 'us-east-1');
  t.equal(bucketRegion(null), 'us-east-1');
  t.equal(bucketRegion(''), 'us-east-1');
  t.equal(bucketRegion('EU'), 'eu-west-1');
  t.equal(bucketRegion('ap-southeast-2'), 'ap-southeast-2');
});

t.test('findings: severity from Severity.Normalized when there is no label; deprecated WorkflowState', async (t) => {
  const fallback = { account: '111122223333', region: 'eu-west-1', now: 1_795_000_000 };
  const finding = (fields: Record<string, unknown>) =>
    normaliseFinding({ Id: 'f', CreatedAt: '2026-11-01T00:00:00.900Z', UpdatedAt: '2026-11-02T00:00:00Z', ...fields } as never, fallback);
  t.same(
    [95, 70, 40, 1, 0].map((n) => finding({ Severity: { Normalized: n } }).severity),
    ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL'],
  );
  t.same(
    ['NEW', 'ASSIGNED', 'IN_PROGRESS', 'DEFERRED', 'RESOLVED'].map((s) => finding({ WorkflowState: s }).workflow_status),
    ['NEW', 'NOTIFIED', 'NOTIFIED', 'SUPPRESSED', 'RESOLVED'],
  );
  t.equal(finding({ WorkflowState: 'RESOLVED', Workflow: { Status: 'NOTIFIED' } }).workflow_status, 'NOTIFIED', 'Workflow.Status wins');
  const bare = finding({});
  t.match(bare, { account: '111122223333', region: 'eu-west-1', record_state: 'ACTIVE', compliance_status: null, workflow_status: 'NEW', severity: 'INFORMATIONAL', resources: [] });
  t.equal(bare.first_observed_at, Date.parse('2026-11-01T00:00:00Z') / 1000, 'whole seconds, rounded down');
  t.equal(bare.last_observed_at, Date.parse('2026-11-02T00:00:00Z') / 1000);
});
