/**
 * A collection run as units of work (migration 026, src/sources/collections.ts): one unit per
 * (source, service), claimed and completed by conditional updates, finalised once however many
 * instances try, a unit that failed every attempt kept as a gap. Against moto and embedded
 * PostgreSQL; the queue-level behaviour with killed processes is test/sources/distributed-collection.test.ts.
 */
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { createEvaluation } from '../../src/evaluation/evaluate.js';
import { createRun, executeUnit, finaliseRun, giveUpUnit, planRun } from '../../src/sources/collections.js';
import { AwsThrottle } from '../../src/sources/throttle.js';
import { ADMIN_KEY, tempDir, testApp, waitFor, type TestApp } from '../helpers/app.js';
import { MOTO_ACCOUNT, motoSkip, startMoto } from '../helpers/moto.js';
import { publicBuckets, REGION } from '../remediation/helpers.js';

const context = { actor: 'test', actorKeyId: null, role: 'admin' };

async function planned(api: TestApp) {
  const run = await api.app.db.transaction((trx) => createRun(trx, { trigger: 'api', context }));
  const { pending } = await planRun(api.app.db, run.id);
  return { runId: run.id, pending };
}

const unitsOf = (api: TestApp, runId: string) => api.app.db('collection_units').where({ run_id: runId }).orderBy('position');

t.test('units: one per source and service, each done once; the run finalised once from their outputs, in order', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  await publicBuckets(moto.endpoint, ['units-public']);
  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 }, workers: false });
  for (const [name, region] of [['use1', REGION], ['usw2', 'us-west-2']]) {
    t.equal((await api.call('POST', '/v1/sources', { body: { name, account_id: MOTO_ACCOUNT, region, services: ['s3', 'iam', 'kms'] } })).status, 201);
  }
  const { runId, pending } = await planned(api);
  t.equal(pending.length, 6, 'two sources × three services');
  t.same((await unitsOf(api, runId)).map((u) => `${u.position}:${u.source_name}/${u.service}:${u.status}`), ['0:use1/s3:queued', '1:use1/iam:queued', '2:use1/kms:queued', '3:usw2/s3:queued', '4:usw2/iam:queued', '5:usw2/kms:queued']);
  t.same((await planRun(api.app.db, runId)).pending, pending, 'planning again (a retried job) makes no new unit');
  let progress = (await api.call('GET', `/v1/collections/${runId}`)).body.progress;
  t.same(progress, { done: 0, total: 6, running: 0, queued: 6, retried: 0, failed: 0 });

  // Not finished while a unit is left: no caller finalises.
  await executeUnit(api.app.db, pending[0]!, { instance: 'a', endpoint: moto.endpoint, maxAttempts: 2 });
  t.equal(await finaliseRun(api.app.db, runId), undefined, 'five units left: not finalised');
  progress = (await api.call('GET', `/v1/collections/${runId}`)).body.progress;
  t.match(progress, { done: 1, total: 6, queued: 5 });

  // An attempt that a dead instance held (claimed, never completed) is taken over by the next one.
  await api.app.db('collection_units').update({ status: 'running', attempts: 1, claim: '00000000-0000-7000-8000-000000000000', claimed_by: 'dead' }).where({ id: pending[1] });
  t.match((await api.call('GET', `/v1/collections/${runId}`)).body.progress, { done: 1, running: 1, queued: 4, current: 'use1/iam' });
  await Promise.all(pending.slice(1).map((id, i) => executeUnit(api.app.db, id, { instance: i % 2 ? 'a' : 'b', endpoint: moto.endpoint, maxAttempts: 2 })));
  // A unit done is not collected again: no claim, no attempt counted.
  await executeUnit(api.app.db, pending[0]!, { instance: 'c', endpoint: moto.endpoint, maxAttempts: 2 });
  const units = await unitsOf(api, runId);
  t.same(units.map((u) => [u.status, u.attempts]), [['done', 1], ['done', 2], ['done', 1], ['done', 1], ['done', 1], ['done', 1]], 'each done once; the taken-over unit counts two attempts');
  t.match(units[0].output, { resources: [{ type: 'AWS::S3::Bucket', id: 'units-public' }], gaps: [], counts: { resources: 1 } });

  // Five instances try to finalise at once: exactly one does, and its evaluation is the only one.
  const results = await Promise.all(
    Array.from({ length: 5 }, () => finaliseRun(api.app.db, runId, async (trx) => void (await createEvaluation(trx, { runId, trigger: 'collection', requestedBy: 'system:collection' })))),
  );
  t.equal(results.filter(Boolean).length, 1, 'one finalisation');
  const run = results.find(Boolean)!;
  t.equal(run.status, 'complete', JSON.stringify(run.gaps));
  t.same(run.progress, { done: 6, total: 6, running: 0, queued: 0, retried: 1, failed: 0 });
  t.same(Object.keys(run.counts).sort(), ['use1/iam', 'use1/kms', 'use1/s3', 'usw2/iam', 'usw2/kms', 'usw2/s3'], 'counts of every unit');
  t.equal((await api.app.db('evaluations').where({ run_id: runId })).length, 1, 'one evaluation');
  const evidence = await api.app.db('evidence_items').where({ source_id: runId, kind: 'collection' }).count('* as n').first();
  t.ok(Number(evidence!.n) > 0, 'collection evidence');
  t.equal(await finaliseRun(api.app.db, runId), undefined, 'a late caller finds it finished');
  t.equal(Number((await api.app.db('evidence_items').where({ source_id: runId, kind: 'collection' }).count('* as n').first())!.n), Number(evidence!.n), 'evidence written once');
  const buckets = await api.call('GET', `/v1/collections/${runId}/resources?type=AWS::S3::Bucket`);
  t.same(buckets.body.items.map((i: { region: string; data: { id: string } }) => `${i.region}:${i.data.id}`), ['us-east-1:units-public']);
  t.equal((await api.call('GET', `/v1/collections/${runId}`)).body.coverage.filter((c: { complete: boolean }) => c.complete).length, (await api.call('GET', `/v1/collections/${runId}`)).body.coverage.length, 'every listing complete');
});

t.test('an attempt that outlived its timeout cannot complete the unit a second time', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 }, workers: false });
  t.equal((await api.call('POST', '/v1/sources', { body: { name: 'slow', account_id: MOTO_ACCOUNT, region: REGION, services: ['iam'] } })).status, 201);
  const { runId, pending } = await planned(api);
  // The first attempt is slow (a bucket of one request a second: STS, then the IAM reads); while it
  // runs, the unit is taken over by another instance's attempt, which completes first.
  const slow = executeUnit(api.app.db, pending[0]!, { instance: 'slow', endpoint: moto.endpoint, maxAttempts: 2, throttle: new AwsThrottle(1) });
  await waitFor(async () => ((await unitsOf(api, runId))[0].claimed_by === 'slow' ? true : undefined), 'the slow attempt claims the unit');
  await executeUnit(api.app.db, pending[0]!, { instance: 'fast', endpoint: moto.endpoint, maxAttempts: 2 });
  const [completed] = await unitsOf(api, runId);
  t.match(completed, { status: 'done', attempts: 2, claimed_by: 'fast' });
  await slow;
  const [after] = await unitsOf(api, runId);
  t.same([after.claimed_by, after.finished_at, after.attempts], ['fast', completed.finished_at, 2], 'the slow attempt ended without completing it again');
});

t.test('a unit given up after every attempt is a gap of the run, never dropped', async (t) => {
  const api = await testApp(t, { workers: false });
  t.equal((await api.call('POST', '/v1/sources', { body: { name: 'gone', account_id: '111122223333', region: REGION, services: ['s3'] } })).status, 201);
  const { runId, pending } = await planned(api);
  await api.app.db('collection_units').update({ status: 'running', attempts: 3, error: 'connection terminated unexpectedly' }).where({ id: pending[0] });
  t.equal(await giveUpUnit(api.app.db, pending[0]!), runId);
  const run = (await finaliseRun(api.app.db, runId))!;
  t.equal(run.status, 'partial', 'a failed unit leaves the run partial');
  t.same(run.gaps, ['gone/s3: collection failed after 3 attempts: connection terminated unexpectedly']);
  t.same(run.progress, { done: 0, total: 1, running: 0, queued: 0, retried: 1, failed: 1 });
  const shown = (await api.call('GET', `/v1/collections/${runId}`)).body;
  t.match(shown.coverage, [{ account: '111122223333', region: REGION, service: 's3', resource_type: 'AWS::S3::Bucket', complete: false, reason: /collection failed after 3 attempts/ }], 'its types are not covered, with the reason');
  t.equal(await giveUpUnit(api.app.db, pending[0]!), runId, 'giving up again changes nothing');
  t.equal((await unitsOf(api, runId))[0].status, 'failed');
});

t.test('through the queue: two instances on one database take the units of one run, which is evaluated once', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  await publicBuckets(moto.endpoint, ['queue-public']);
  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2, collectionConcurrency: 2 } });
  const second = await buildApp({ config: { databaseUrl: api.databaseUrl, dataDir: await tempDir(), logLevel: 'silent', adminKey: ADMIN_KEY, awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2, collectionConcurrency: 2 }, announce: () => {} });
  t.teardown(() => second.close());
  for (const [name, region] of [['q1', REGION], ['q2', 'us-west-2'], ['q3', 'eu-west-1']]) {
    t.equal((await api.call('POST', '/v1/sources', { body: { name, account_id: MOTO_ACCOUNT, region, services: ['s3', 'iam', 'kms', 'ec2'] } })).status, 201);
  }
  const started = await api.call('POST', '/v1/collections', { body: {} });
  t.equal(started.status, 202);
  const run = await waitFor(async () => {
    const r = (await api.call('GET', `/v1/collections/${started.body.id}`)).body;
    return ['complete', 'partial', 'failed'].includes(r.status) ? r : undefined;
  }, 'run', 120_000);
  t.equal(run.status, 'complete', JSON.stringify(run.gaps));
  t.same(run.progress, { done: 12, total: 12, running: 0, queued: 0, retried: 0, failed: 0 });
  const units = await unitsOf(api, run.id);
  t.ok(units.every((u) => u.status === 'done' && u.attempts === 1), 'every unit done in one attempt');
  t.ok(new Set(units.map((u) => u.claimed_by)).size >= 1, `claimed by ${[...new Set(units.map((u) => u.claimed_by))].join(', ')}`);
  const evaluation = await waitFor(async () => (await api.call('GET', `/v1/evaluations?collection_id=${run.id}`)).body.items.find((e: { status: string }) => e.status === 'complete'), 'evaluation', 120_000);
  t.ok(evaluation);
  await new Promise((r) => setTimeout(r, 1000));
  t.equal((await api.call('GET', `/v1/evaluations?collection_id=${run.id}`)).body.items.length, 1, 'evaluated once');
  t.match((await api.call('GET', '/v1/findings?rule=s3.bucket_public_read')).body.items, [{ resource_id: 'queue-public', status: 'open' }]);
});

t.test('configuration: collection concurrency, unit timeout and AWS rate are validated', async (t) => {
  const { loadConfig } = await import('../../src/config.js');
  t.match(loadConfig({}), { collectionConcurrency: 4, collectionUnitTimeoutSeconds: 900, awsRequestsPerSecond: 20 });
  t.match(loadConfig({ CUSTOS_COLLECTION_CONCURRENCY: '8', CUSTOS_COLLECTION_UNIT_TIMEOUT_SECONDS: '30', CUSTOS_AWS_REQUESTS_PER_SECOND: '5' }), { collectionConcurrency: 8, collectionUnitTimeoutSeconds: 30, awsRequestsPerSecond: 5 });
  t.throws(() => loadConfig({ CUSTOS_COLLECTION_CONCURRENCY: '0' }), /CUSTOS_COLLECTION_CONCURRENCY must be an integer from 1 to 64, got "0"/);
  t.throws(() => loadConfig({ CUSTOS_COLLECTION_UNIT_TIMEOUT_SECONDS: 'soon' }), /CUSTOS_COLLECTION_UNIT_TIMEOUT_SECONDS must be an integer from 5 to 86400/);
  t.throws(() => loadConfig({ CUSTOS_AWS_REQUESTS_PER_SECOND: '0.5' }), /CUSTOS_AWS_REQUESTS_PER_SECOND must be an integer from 1 to 10000/);
});
