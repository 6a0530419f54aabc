/**
 * A collection run always ends (src/sources/collections.ts failRun, src/jobs/workflows.ts): when its
 * planning or its finalisation fails every pg-boss attempt (or fails with an error that would
 * recur), the run ends `failed` with an error naming the step, its progress from its units, and no
 * evaluation, so it resolves nothing. A unit that fails every attempt is counted `failed` and leaves
 * the run `partial`, never `complete`. Faults are injected in the database (triggers, created on the
 * owner's connection) so that each step fails deterministically, through the real job queue.
 */
import t, { type Test } from 'tap';
import type { Knex } from 'knex';
import { createKnex } from '../../src/db/database.js';
import { waitFor, type TestApp, testApp } from '../helpers/app.js';
import { MOTO_ACCOUNT, motoSkip, startMoto } from '../helpers/moto.js';
import { collectAndEvaluate, findingOf, publicBuckets, REGION, s3On } from '../remediation/helpers.js';
import { DeleteBucketCommand } from '@aws-sdk/client-s3';

const FINISHED = ['complete', 'partial', 'failed'];

/** The owner's connection: the service's own role may not create triggers. */
function ownerOf(t: Test, api: TestApp): Knex {
  const owner = createKnex(api.databaseUrl);
  t.teardown(() => owner.destroy());
  return owner;
}

/** A trigger on `table` that raises `message` (with `errcode`, default P0001: retried) when `when` holds of NEW. */
async function injectFault(owner: Knex, name: string, table: string, timing: 'BEFORE INSERT' | 'BEFORE UPDATE', when: string, message: string, errcode = 'P0001') {
  await owner.raw(`CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '${message}' USING ERRCODE = '${errcode}'; END $$`);
  await owner.raw(`DROP TRIGGER IF EXISTS ${name} ON ${table}`);
  await owner.raw(`CREATE TRIGGER ${name} ${timing} ON ${table} FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION ${name}()`);
}

async function startRun(api: TestApp, body: unknown = {}) {
  const started = await api.call('POST', '/v1/collections', { body });
  if (started.status !== 202) throw new Error(JSON.stringify(started.body));
  return started.body.id as string;
}

const finished = (api: TestApp, runId: string, ms = 60_000) =>
  waitFor(async () => {
    const run = (await api.call('GET', `/v1/collections/${runId}`)).body;
    return FINISHED.includes(run.status) ? run : undefined;
  }, `run ${runId} to end`, ms);

t.test('planning that fails every attempt ends the run failed, naming the step', async (t) => {
  const api = await testApp(t);
  const owner = ownerOf(t, api);
  t.equal((await api.call('POST', '/v1/sources', { body: { name: 'plan-fails', account_id: '111122223333', region: REGION, services: ['s3'] } })).status, 201);
  await injectFault(owner, 'units_refused', 'collection_units', 'BEFORE INSERT', 'true', 'injected fault: no unit can be stored');
  const started = Date.now();
  const runId = await startRun(api);
  const run = await finished(api, runId);
  t.equal(run.status, 'failed');
  t.match(run.error, /^planning failed after 3 attempts: injected fault: no unit can be stored$/);
  t.ok(run.finished_at, 'finished');
  t.same(run.progress, { done: 0, total: 0, running: 0, queued: 0, retried: 0, failed: 0 }, 'nothing planned');
  t.ok(Date.now() - started >= 2_000, `retried with backoff before giving up (${Date.now() - started} ms)`);
  t.same((await api.call('GET', `/v1/evaluations?collection_id=${runId}`)).body.items, [], 'no evaluation');
  t.equal((await api.call('POST', '/v1/evaluations', { body: { collection_id: runId } })).status, 409, 'a failed run cannot be evaluated');
  t.match((await api.call('GET', '/v1/collections?status=failed')).body.items, [{ id: runId, error: /^planning failed/ }]);

  // Repaired, the next run is planned and collected (here: nothing reachable, so a gap, partial).
  await owner.raw('DROP TRIGGER units_refused ON collection_units');
  t.not((await finished(api, await startRun(api), 120_000)).status, 'failed', 'the next run is planned');
});

t.test('planning that fails with an error that would recur ends the run at once, not retried', async (t) => {
  const api = await testApp(t);
  const owner = ownerOf(t, api);
  const source = await api.call('POST', '/v1/sources', { body: { name: 'doubled', account_id: '111122223333', region: REGION, services: ['s3'] } });
  t.equal(source.status, 201);
  // A source whose stored services name one twice (the API refuses it; a row edited by hand has it):
  // its units collide on (run, source, service), and would at every attempt.
  await owner('sources').update({ services: JSON.stringify(['s3', 's3']) }).where({ id: source.body.id });
  const runId = await startRun(api);
  const run = await finished(api, runId, 20_000);
  t.equal(run.status, 'failed');
  t.match(run.error, /^planning failed \(not retried: the error would recur\): .*collection_units_unit_unique/);
  t.equal((await owner('collection_units').where({ run_id: runId })).length, 0, 'no unit');
});

t.test('finalisation that fails every attempt ends the run failed; nothing is resolved', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  await publicBuckets(moto.endpoint, ['ends-public']);
  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 } });
  const owner = ownerOf(t, api);
  t.equal((await api.call('POST', '/v1/sources', { body: { name: 'fin', account_id: MOTO_ACCOUNT, region: REGION, services: ['s3', 'iam'] } })).status, 201);
  const first = await collectAndEvaluate(api);
  t.equal(first.run.status, 'complete', JSON.stringify(first.run.gaps));
  t.match(await findingOf(api, 's3.bucket_public_read', 'ends-public'), { status: 'open' }, 'an open finding');

  // The bucket is gone: a complete run would resolve its finding. Finalisation cannot store the run.
  const s3 = s3On(moto.endpoint);
  await s3.send(new DeleteBucketCommand({ Bucket: 'ends-public' }));
  s3.destroy();
  await injectFault(owner, 'run_not_finishing', 'collection_runs', 'BEFORE UPDATE', "NEW.status IN ('complete', 'partial')", 'injected fault: the run cannot be finalised');
  const runId = await startRun(api);
  const run = await finished(api, runId);
  t.equal(run.status, 'failed');
  t.equal(run.error, 'finalisation failed after 3 attempts: injected fault: the run cannot be finalised');
  t.same(run.progress, { done: 2, total: 2, running: 0, queued: 0, retried: 0, failed: 0 }, 'its units, all collected');
  t.same(run.gaps, [], 'nothing merged');
  t.equal(Number((await owner('run_items').where({ run_id: runId }).count('* as n').first())!.n), 0, 'nothing stored');
  await new Promise((r) => setTimeout(r, 1500));
  t.same((await api.call('GET', `/v1/evaluations?collection_id=${runId}`)).body.items, [], 'no evaluation');
  t.match(await findingOf(api, 's3.bucket_public_read', 'ends-public'), { status: 'open' }, 'the finding is not resolved');

  // An error that would recur (a constraint) ends the run at the first attempt.
  await injectFault(owner, 'run_not_finishing', 'collection_runs', 'BEFORE UPDATE', "NEW.status IN ('complete', 'partial')", 'injected fault: violates a check', '23514');
  const permanent = await finished(api, await startRun(api));
  t.equal(permanent.status, 'failed');
  t.equal(permanent.error, 'finalisation failed (not retried: the error would recur): injected fault: violates a check');

  await owner.raw('DROP TRIGGER run_not_finishing ON collection_runs');
  const repaired = await collectAndEvaluate(api);
  t.equal(repaired.run.status, 'complete', 'repaired, the next run completes');
  t.match(await findingOf(api, 's3.bucket_public_read', 'ends-public'), { status: 'resolved' }, 'and resolves the finding');
});

t.test('a unit that fails every attempt is counted failed and leaves the run partial, never complete', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 } });
  const owner = ownerOf(t, api);
  t.equal((await api.call('POST', '/v1/sources', { body: { name: 'half', account_id: MOTO_ACCOUNT, region: REGION, services: ['s3', 'iam'] } })).status, 201);
  // The iam unit collects, but can never be stored as done.
  await injectFault(owner, 'iam_unit_not_done', 'collection_units', 'BEFORE UPDATE', "NEW.status = 'done' AND NEW.service = 'iam'", 'injected fault: the unit cannot be stored');
  const runId = await startRun(api);
  const run = await finished(api, runId);
  t.equal(run.status, 'partial');
  t.same(run.progress, { done: 1, total: 2, running: 0, queued: 0, retried: 1, failed: 1 });
  t.same(run.gaps, ['half/iam: collection failed after 3 attempts: injected fault: the unit cannot be stored']);
  const units = await owner('collection_units').where({ run_id: runId }).orderBy('position');
  t.same(units.map((u) => [u.service, u.status, u.attempts]), [['s3', 'done', 1], ['iam', 'failed', 3]]);
  const evaluation = await waitFor(async () => (await api.call('GET', `/v1/evaluations?collection_id=${runId}`)).body.items.find((e: { status: string }) => e.status === 'complete'), 'evaluation', 60_000);
  t.match(evaluation, { run_partial: true }, 'evaluated as partial: it resolves nothing');
});
