import { GenerateCredentialReportCommand, IAMClient } from '@aws-sdk/client-iam';
import t, { type Test } from 'tap';
import { CLOSED_ENDPOINT } from '../helpers/processes.js';
import { COLLECTORS } from '../../src/sources/collectors/index.js';
import type { CollectorOutput } from '../../src/sources/types.js';
import { startFaultyProxy, type FaultOptions, type FaultyProxy } from '../helpers/faulty-proxy.js';
import { motoClient, motoContext, motoSkip, startMoto } from '../helpers/moto.js';
import { loadEstate } from './fixtures/estate.js';

const NAMES = Object.keys(COLLECTORS);
const moto = motoSkip ? undefined : await startMoto(t);
if (moto) {
  await moto.reset();
  await loadEstate(moto.endpoint);
  // moto answers the first GenerateCredentialReport STARTED and every later one COMPLETE: generate the
  // report now, so the iam collector's request count does not depend on which run came first.
  const iam = new IAMClient(motoClient(moto.endpoint));
  await iam.send(new GenerateCredentialReportCommand({}));
  iam.destroy();
}

/** Runs one collector through its own proxy. */
async function throughProxy(t: Test, name: string, options: FaultOptions, context: { maxAttempts?: number } = {}): Promise<{ output: CollectorOutput; proxy: FaultyProxy }> {
  const proxy = await startFaultyProxy(t, moto!.endpoint, options);
  const output = await COLLECTORS[name]!.collect(motoContext(proxy.endpoint, context));
  return { output, proxy };
}

/** Every collector through a proxy that faults nothing: what a complete run gives, and its request count. */
async function baselines(t: Test) {
  return Object.fromEntries(await Promise.all(NAMES.map(async (name) => [name, await throughProxy(t, name, {})] as const)));
}

for (const [label, options] of [
  ['HTTP 500', { failFirst: 2, status: 500 }],
  ['HTTP 503', { failFirst: 2, status: 503 }],
  ['throttling', { failFirst: 2, throttle: true }],
] as Array<[string, FaultOptions]>) {
  t.test(`${label} for the first 2 requests: every collector still gives its complete output, thanks to the SDK's retries`, { skip: motoSkip }, async (t) => {
    const expected = await baselines(t);
    const runs = await Promise.all(NAMES.map(async (name) => [name, await throughProxy(t, name, options)] as const));
    // The attempts in a gap for an operation moto lacks count the faults too when they hit it.
    const attempts = (text: string) => text.replace(/\b\d+ attempts?\b/g, 'n attempts');
    const attemptless = (output: CollectorOutput) => ({
      ...output,
      gaps: output.gaps.map(attempts),
      coverage: output.coverage.map((c) => (c.reason ? { ...c, reason: attempts(c.reason) } : c)),
    });
    for (const [name, { output, proxy }] of runs) {
      t.same(attemptless(output), attemptless(expected[name]!.output), `${name}: same output as without faults`);
      t.equal(proxy.faulted, 2, `${name}: 2 requests faulted`);
      if (name === 'accessanalyzer') {
        // Its only operation, ListAnalyzers, is one moto lacks (HTTP 500 every time): the two faults
        // take the place of two of moto's 500s within the SDK's attempts, so the count is unchanged.
        t.equal(proxy.requests, expected[name]!.proxy.requests, `${name}: the faults are among the attempts at an operation moto lacks`);
      } else t.equal(proxy.requests, expected[name]!.proxy.requests + 2, `${name}: and both retried`);
    }
  });
}

t.test('an endpoint that stays down: gaps for every operation, no exception, quickly', { skip: motoSkip }, async (t) => {
  const started = Date.now();
  const runs = await Promise.all(NAMES.map(async (name) => [name, await throughProxy(t, name, { failAlways: true, status: 503 }, { maxAttempts: 2 })] as const));
  for (const [name, { output, proxy }] of runs) {
    t.same([output.resources, output.findings, output.permissions, output.settings], [[], [], [], []], `${name}: nothing collected`);
    t.ok(output.gaps.length > 0, `${name}: gaps`);
    t.ok(
      output.gaps.every((g) => /^[a-z0-9-]+:[A-Za-z]+( \([^)]*\))?: \w+ \(HTTP 503, 2 attempts\): /.test(g)),
      `${name}: each gap names the operation, the status and the attempts: ${output.gaps[0]}`,
    );
    t.equal(proxy.requests, proxy.faulted);
    t.equal(proxy.requests, 2 * output.gaps.length, `${name}: each failed operation was tried twice, then given up`);
  }
  t.same(Object.fromEntries(runs.map(([name, { output }]) => [name, output.gaps.length])), {
    s3: 1, // ListBuckets: nothing else to do without it
    ec2: 2,
    kms: 1,
    cloudtrail: 1,
    iam: 3, // password policy, account summary, credential report
    rds: 2,
    config: 3 + 6, // recorder status, rules, compliance, and ListDiscoveredResources for each of 6 types
    securityhub: 2,
    lakeformation: 3, // settings, permissions, LF-tags; no assignments to look up without permissions
    guardduty: 1,
    macie: 1,
    accessanalyzer: 1,
    vpc: 2, // VPCs, flow logs
    logs: 1,
    s3account: 1,
    configrecorder: 3, // recorders, their status, delivery channels; no channel status to ask without channels
    backup: 1, // ListBackupVaults: without the vaults no plan can be judged
    dynamodb: 1,
    secretsmanager: 1,
  });
  t.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
});

t.test('nothing listening at the endpoint: gaps, no exception', async (t) => {
  const closed = CLOSED_ENDPOINT;
  const outputs = await Promise.all(NAMES.map((name) => COLLECTORS[name]!.collect(motoContext(closed, { maxAttempts: 2 }))));
  outputs.forEach((output, i) => {
    t.ok(output.gaps.length > 0 && output.resources.length === 0, `${NAMES[i]}: ${output.gaps[0]}`);
    t.ok(output.gaps.every((g) => /ECONNREFUSED|connect/i.test(g)), `${NAMES[i]}: the gaps say why`);
  });
});

t.test('a client error is not retried: one gap, and the collector carries on with the rest', { skip: motoSkip }, async (t) => {
  const { output, proxy } = await throughProxy(t, 'iam', { failFirst: 1, status: 400 });
  t.same(output.gaps, ['iam:GetAccountPasswordPolicy: ValidationException (HTTP 400, 1 attempts): Injected client error']);
  t.same(
    output.resources.map((r) => r.type),
    ['AWS::IAM::AccountSummary'],
    'the account summary is still collected; the password policy is missing, not guessed',
  );
  t.equal(proxy.requests, 4, 'the failed policy request, the summary, and the credential report (generate, read)');
});

t.test('a per-bucket call that keeps failing drops that bucket only, with its gap', { skip: motoSkip }, async (t) => {
  const { output, proxy } = await throughProxy(
    t,
    's3',
    { failAlways: true, status: 500, match: ({ method, url }) => method === 'GET' && /^\/wealth-shared-reports\/?\?policy(=|&|$)/.test(url) },
    { maxAttempts: 2 },
  );
  t.same(output.gaps, ['s3:GetBucketPolicy (bucket wealth-shared-reports): InternalError (HTTP 500, 2 attempts): Injected server error']);
  t.equal(proxy.faulted, 2);
  t.same(
    output.resources.map((r) => r.id).sort(),
    ['wealth-access-logs', 'wealth-client-documents', 'wealth-public-site', 'wealth-scratch', 'wealth-trail-logs'],
  );
});
