/**
 * AWS throttling per account and service (src/sources/throttle.ts): the token bucket itself, and the
 * SDK v3 middleware on real clients against moto, where one account's queue must not delay another
 * account, nor another service of the same account; the AssumeRole calls of units with a role too.
 */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import t from 'tap';
import { collectorContext } from '../../src/sources/aws.js';
import { clientConfig, throttled } from '../../src/sources/collectors/common.js';
import { assertAccount } from '../../src/sources/identity.js';
import { AwsThrottle, TokenBucket } from '../../src/sources/throttle.js';
import { motoSkip, startMoto } from '../helpers/moto.js';
import { startFaultyProxy } from '../helpers/faulty-proxy.js';

const elapsed = async (work: () => Promise<unknown>) => {
  const started = performance.now();
  await work();
  return performance.now() - started;
};

t.test('a token bucket: a burst of its size at once, then its rate, first come first served', async (t) => {
  const bucket = new TokenBucket(10, 3);
  t.equal(bucket.available(), 3, 'starts full');
  t.ok((await elapsed(() => Promise.all([bucket.take(), bucket.take(), bucket.take()]))) < 80, 'the burst passes at once');
  const order: number[] = [];
  const waited = await elapsed(() => Promise.all([1, 2, 3, 4, 5].map((n) => bucket.take().then(() => order.push(n)))));
  t.ok(waited >= 450 && waited < 2000, `five more at 10 per second take about half a second (${Math.round(waited)} ms)`);
  t.same(order, [1, 2, 3, 4, 5], 'in the order asked');
  await new Promise((r) => setTimeout(r, 500));
  t.ok(bucket.available() <= 3 && bucket.available() >= 2.5, 'refills up to its size, never beyond');
  t.throws(() => new TokenBucket(0, 1), RangeError);
  t.throws(() => new TokenBucket(1, 0.5), RangeError);
});

t.test('per account and service on real SDK clients: a busy account never slows another', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const throttle = new AwsThrottle(2);
  const client = <C extends STSClient | S3Client>(make: (config: ReturnType<typeof clientConfig>) => C, account: string) => {
    const context = collectorContext({ account, region: 'us-east-1' }, { endpoint: moto.endpoint, now: 0, throttle });
    const made = throttled(make(clientConfig(context)), context);
    t.teardown(() => made.destroy());
    return made;
  };
  const stsA = client((c) => new STSClient(c), '111111111111');
  const stsB = client((c) => new STSClient(c), '222222222222');
  const s3A = client((c) => new S3Client({ ...c, forcePathStyle: true }), '111111111111');

  // Account A asks STS eight times at two per second (a bucket of two): about three seconds.
  const busy = elapsed(() => Promise.all(Array.from({ length: 8 }, () => stsA.send(new GetCallerIdentityCommand({})))));
  await new Promise((r) => setTimeout(r, 100));
  t.ok(throttle.bucket('111111111111', 'STS').available() < 1, 'account A has used its STS tokens');
  const other = await elapsed(() => stsB.send(new GetCallerIdentityCommand({})));
  const otherService = await elapsed(() => s3A.send(new ListBucketsCommand({})));
  const waited = await busy;
  t.ok(waited >= 2500, `account A waited for its tokens (${Math.round(waited)} ms)`);
  t.ok(other < 1500, `account B was not held behind account A (${Math.round(other)} ms)`);
  t.ok(otherService < 1500, `account A's S3 call was not held behind its STS calls (${Math.round(otherService)} ms)`);
});

t.test('every attempt takes a token: retries are paced too', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  // Server errors: the SDK retries them after at most 100, 200 and 400 ms, so the pace is the bucket's.
  const proxy = await startFaultyProxy(t, moto.endpoint, { failFirst: 3, status: 500 });
  const throttle = new AwsThrottle(1);
  const context = collectorContext({ account: '333333333333', region: 'us-east-1' }, { endpoint: proxy.endpoint, now: 0, throttle, maxAttempts: 4 });
  const sts = throttled(new STSClient(clientConfig(context)), context);
  t.teardown(() => sts.destroy());
  const waited = await elapsed(() => sts.send(new GetCallerIdentityCommand({})));
  t.equal(proxy.requests, 4, 'three failed attempts, then the answer');
  t.ok(waited >= 2900, `four attempts at one token a second take at least three seconds (${Math.round(waited)} ms)`);
});

t.test('AssumeRole of a unit with a role takes tokens of the account\'s STS bucket: units of one account do not burst STS', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const proxy = await startFaultyProxy(t, moto.endpoint, {});
  const throttle = new AwsThrottle(2);
  const member = '444455556666';
  const other = '777788889999';
  // What each unit of an organization member account does first: a context that assumes the
  // member's role, and the identity check through it (src/sources/collections.ts collectUnit).
  const unit = (account: string) => {
    const context = collectorContext({ account, region: 'us-east-1', roleArn: `arn:aws:iam::${account}:role/custos-collector` }, { endpoint: proxy.endpoint, now: 0, throttle });
    return assertAccount(context.aws, account, context.throttle);
  };
  const started = performance.now();
  const units = Promise.all(Array.from({ length: 8 }, () => unit(member)));
  await new Promise((r) => setTimeout(r, 200));
  t.ok(throttle.bucket(member, 'STS').available() < 1, 'the member account has used its STS tokens');
  const otherStarted = performance.now();
  await unit(other);
  const otherTook = performance.now() - otherStarted;
  const answers = await units;
  const total = performance.now() - started;
  t.ok(answers.every((a) => a.account === member), 'every unit reached the member account');
  const assumed = proxy.log.filter((r) => r.action === 'AssumeRole' && r.service === 'sts');
  t.equal(assumed.length, 9, 'one AssumeRole per unit');
  t.equal(proxy.log.filter((r) => r.action === 'GetCallerIdentity').length, 9, 'one identity check per unit');
  // Eight AssumeRole and eight GetCallerIdentity of one account at 2 a second from a bucket of 2:
  // the AssumeRole calls alone need (8 - 2) / 2 = 3 s, all sixteen calls (16 - 2) / 2 = 7 s.
  const memberAssumed = assumed.filter((r) => r.body.includes(member)).map((r) => r.at);
  t.equal(memberAssumed.length, 8);
  const spread = Math.max(...memberAssumed) - Math.min(...memberAssumed);
  t.ok(spread >= 2000, `the member's AssumeRole calls are spread over ${Math.round(spread)} ms (at least about 3 s expected)`);
  t.ok(total >= 5000 && total < 30_000, `the eight units took ${Math.round(total)} ms (about 7 s expected)`);
  t.ok(otherTook < 1500, `another account's unit was not held behind them (${Math.round(otherTook)} ms)`);
});
