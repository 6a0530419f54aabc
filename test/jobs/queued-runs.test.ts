/**
 * Nothing is `queued` without a job to run it (src/jobs/workflows.ts enqueue): a collection run, an
 * evaluation and a data-quality run are inserted `queued` in the same transaction as their pg-boss
 * job. The crash window of before (the row committed, then the job sent in a separate step) is
 * reproduced by making the job's insert fail: a trigger on pg-boss's job table, created on the
 * owner's connection, refuses the queue's jobs. Before, the request failed after the row had
 * committed, and the row stayed `queued` for good with no job; now nothing of the request is kept.
 * Once the fault is gone, the next request's row runs to its end, exactly once.
 */
import t, { type Test } from 'tap';
import type { Knex } from 'knex';
import { createKnex } from '../../src/db/database.js';
import { createRun as createDqRun } from '../../src/data-quality/runs.js';
import { queueScheduledRuns, RUN_QUEUE } from '../../src/data-quality/schedule.js';
import { createEvaluation } from '../../src/evaluation/evaluate.js';
import { createRun } from '../../src/sources/collections.js';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { buildApp } from '../../src/app.js';
import { ADMIN_KEY, create, tempDir, testApp, waitFor, type TestApp } from '../helpers/app.js';

/** The owner's connection: the service's own role may not create triggers. */
function ownerOf(t: Test, api: TestApp): Knex {
  const owner = createKnex(api.databaseUrl);
  t.teardown(() => owner.destroy());
  return owner;
}

/** pg-boss refuses every new job of `queue` until the returned function is called. */
async function refuseJobs(owner: Knex, queue: string): Promise<() => Promise<void>> {
  const name = `refuse_${queue.replace(/\W/g, '_')}`;
  await owner.raw(`CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'injected fault: no job for queue ${queue}'; END $$`);
  await alterJobTable(owner, `CREATE TRIGGER ${name} BEFORE INSERT ON pgboss.job FOR EACH ROW WHEN (NEW.name = '${queue}') EXECUTE FUNCTION ${name}()`);
  return () => alterJobTable(owner, `DROP TRIGGER ${name} ON pgboss.job`);
}

/**
 * Runs `ddl` on pg-boss's partitioned job table while the service's workers poll it. The table is
 * locked first, parent then partitions, the order in which the workers take them: a bare DROP
 * TRIGGER took a partition's lock before the parent's and deadlocked with a worker's fetch (CI,
 * 40P01). Should PostgreSQL still pick this transaction as a deadlock's victim, it is tried again.
 */
async function alterJobTable(owner: Knex, ddl: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await owner.transaction(async (trx) => {
        await trx.raw('LOCK TABLE pgboss.job IN ACCESS EXCLUSIVE MODE');
        await trx.raw(ddl);
      });
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '40P01' || attempt === 5) throw error;
    }
  }
}

/** Jobs of `queue` in pg-boss's job table whose data has `key` = `value`. */
const jobsOf = async (owner: Knex, queue: string, key: string, value: string) =>
  (await owner('pgboss.job').where({ name: queue }).whereRaw('data->>? = ?', [key, value]).select('id', 'data', 'state')) as Array<{ id: string; data: Record<string, string>; state: string }>;

/** A source whose stored services are none: its runs are planned into no unit, so they finish without AWS. */
async function sourceWithoutUnits(api: TestApp) {
  const source = await create(api, '/v1/sources', { name: 'no-units', account_id: '111122223333', region: 'us-east-1', services: ['s3'] });
  await api.app.db('sources').update({ services: JSON.stringify([]) }).where({ id: source.id });
}

t.test('a collection run whose job could not be queued is not kept queued; the next one runs once, then its evaluation', async (t) => {
  const api = await testApp(t);
  const owner = ownerOf(t, api);
  await sourceWithoutUnits(api);

  const allow = await refuseJobs(owner, 'collection');
  const refused = await api.call('POST', '/v1/collections', { body: {} });
  t.not(refused.status, 202, `not accepted (${refused.status})`);
  t.same(await owner('collection_runs').where({ status: 'queued' }).select('id'), [], 'no run left queued without a job');
  t.same(await owner('collection_runs').select('id'), [], 'no run at all: the run and its job commit together');
  await allow();

  const started = await api.call('POST', '/v1/collections', { body: {} });
  t.equal(started.status, 202);
  const runId = started.body.id as string;
  const run = await waitFor(async () => {
    const body = (await api.call('GET', `/v1/collections/${runId}`)).body;
    return ['complete', 'partial', 'failed'].includes(body.status) ? body : undefined;
  }, 'the run to end');
  t.equal(run.status, 'complete');
  const evaluation = await waitFor(async () => (await api.call('GET', `/v1/evaluations?collection_id=${runId}`)).body.items.find((e: { status: string }) => e.status === 'complete'), 'its evaluation');
  t.equal((await owner('evaluations').where({ run_id: runId })).length, 1, 'evaluated once');
  const planning = (await jobsOf(owner, 'collection', 'runId', runId)).filter((j) => j.data.step !== 'finalise');
  t.same(planning.map((j) => j.id), [runId], "one planning job, with the run's id");
  t.same((await jobsOf(owner, 'evaluation', 'evaluationId', evaluation.id)).map((j) => j.id), [evaluation.id], "one evaluation job, with the evaluation's id");
  t.same(await owner('collection_runs').where({ status: 'queued' }).select('id'), [], 'no run queued');
});

t.test('a snapshot import whose evaluation could not be queued stores no run; the next one is evaluated once', async (t) => {
  const api = await testApp(t);
  const owner = ownerOf(t, api);
  const snapshot = { ...wealthEstate, findings: wealthEstate.findings.slice(0, 3) };
  const allow = await refuseJobs(owner, 'evaluation');
  const refused = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot } });
  t.not(refused.status, 201, `not stored (${refused.status})`);
  t.same(await owner('collection_runs').select('id'), [], 'no run stored without the evaluation that judges it');
  t.same(await owner('evaluations').select('id'), [], 'and no evaluation');
  await allow();

  const imported = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot } });
  t.equal(imported.status, 201, JSON.stringify(imported.body));
  const evaluation = await waitFor(async () => (await api.call('GET', `/v1/evaluations?collection_id=${imported.body.id}`)).body.items.find((e: { status: string }) => e.status === 'complete'), 'its evaluation');
  t.equal((await owner('evaluations').where({ run_id: imported.body.id })).length, 1, 'evaluated once');
  t.same((await jobsOf(owner, 'evaluation', 'evaluationId', evaluation.id)).map((j) => j.id), [evaluation.id], "one evaluation job, with the evaluation's id");
});

t.test('an evaluation whose job could not be queued is not kept queued; the next one runs once', async (t) => {
  const api = await testApp(t);
  const owner = ownerOf(t, api);
  await sourceWithoutUnits(api);
  const runId = (await api.call('POST', '/v1/collections', { body: {} })).body.id as string;
  await waitFor(async () => (await api.call('GET', `/v1/evaluations?collection_id=${runId}`)).body.items.find((e: { status: string }) => e.status === 'complete'), 'the run evaluated');

  const allow = await refuseJobs(owner, 'evaluation');
  const refused = await api.call('POST', '/v1/evaluations', { body: { collection_id: runId } });
  t.not(refused.status, 202, `not accepted (${refused.status})`);
  t.same(await owner('evaluations').where({ status: 'queued' }).select('id'), [], 'no evaluation left queued without a job');
  t.equal((await owner('evaluations').where({ run_id: runId })).length, 1, 'only the first evaluation');
  await allow();

  const queued = await api.call('POST', '/v1/evaluations', { body: { collection_id: runId } });
  t.equal(queued.status, 202);
  const done = await waitFor(async () => {
    const body = (await api.call('GET', `/v1/evaluations/${queued.body.id}`)).body;
    return ['complete', 'failed'].includes(body.status) ? body : undefined;
  }, 'the evaluation to end');
  t.equal(done.status, 'complete');
  t.same((await jobsOf(owner, 'evaluation', 'evaluationId', queued.body.id)).map((j) => j.id), [queued.body.id], 'one job, with its id');
  t.same(await owner('evaluations').where({ status: 'queued' }).select('id'), [], 'no evaluation queued');
});

/** A row-count rule on a catalog table of no registered connection: its runs end failed at once, without a database to check. */
async function ruleWithoutConnection(api: TestApp, schedule?: string) {
  await create(api, '/v1/domains', { name: 'Client', owner: 'o@bank.example', steward: 's@bank.example', review_frequency: 'monthly' });
  const asset = await create(api, '/v1/assets', { store: 'aurora', database: 'wealth', table: 'clients', domain: 'Client', columns: [{ name: 'client_id', data_type: 'int', classification: 'internal' }] });
  return create(api, '/v1/data-quality-rules', { asset_id: asset.id, name: 'rows', rule_type: 'row_count', severity: 'low', definition: { min: 1 }, ...(schedule ? { schedule } : {}) }, 'steward');
}

t.test('a data-quality run whose job could not be queued is not kept queued; the next one runs once', async (t) => {
  const api = await testApp(t);
  const owner = ownerOf(t, api);
  const rule = await ruleWithoutConnection(api);

  const allow = await refuseJobs(owner, RUN_QUEUE);
  const refused = await api.call('POST', `/v1/data-quality-rules/${rule.id}/run`, { as: 'steward', body: {} });
  t.not(refused.status, 202, `not accepted (${refused.status})`);
  t.same(await owner('data_quality_runs').select('id'), [], 'no run left queued without a job');
  await allow();

  const started = await api.call('POST', `/v1/data-quality-rules/${rule.id}/run`, { as: 'steward', body: {} });
  t.equal(started.status, 202);
  const run = await waitFor(async () => {
    const body = (await api.call('GET', `/v1/data-quality-runs/${started.body.id}`)).body;
    return ['complete', 'partial', 'failed'].includes(body.status) ? body : undefined;
  }, 'the run to end');
  t.equal(run.status, 'failed', 'ended (no connection to check the rule with)');
  t.equal((await owner('data_quality_results').where({ run_id: run.id })).length, 1, 'the rule checked once');
  t.same((await jobsOf(owner, RUN_QUEUE, 'runId', run.id)).map((j) => j.id), [run.id], "one job, with the run's id");
});

t.test("a scheduled data-quality run is queued with its job or not at all (the occurrence is tried again)", async (t) => {
  const api = await testApp(t, { workers: false });
  const owner = ownerOf(t, api);
  const rule = await ruleWithoutConnection(api, '0 * * * *');
  await api.app.db('data_quality_rules').where({ id: rule.id }).update({ created_at: new Date('2026-01-01T09:30:00Z') });
  // `send` is what the scheduler called before it queued the job in its transaction (for the same test on earlier versions).
  const jobs = api.app.jobs;
  const context = { db: api.app.db, aws: {}, enqueue: (...args: Parameters<typeof jobs.enqueue>) => jobs.enqueue(...args), send: (queue: string, data: Record<string, string>, key: string) => jobs.send(queue, data, key) };

  const allow = await refuseJobs(owner, RUN_QUEUE);
  await t.rejects(queueScheduledRuns(context, new Date('2026-01-01T10:05:00Z')), /injected fault/);
  t.same(await owner('data_quality_runs').select('id'), [], 'no run left queued without a job');
  t.equal((await owner('data_quality_rules').where({ id: rule.id }).first()).last_scheduled_at, null, 'the occurrence is not marked done');
  await allow();

  const queued = await queueScheduledRuns(context, new Date('2026-01-01T10:05:30Z'));
  t.equal(queued.length, 1, 'the same occurrence, queued now');
  t.same((await jobsOf(owner, RUN_QUEUE, 'runId', queued[0]!)).map((j) => j.id), queued, "with its job, of the run's id");
});

t.test('rows an earlier version left queued without a job get one at start, and run once', async (t) => {
  const api = await testApp(t);
  const owner = ownerOf(t, api);
  await sourceWithoutUnits(api);
  const rule = await ruleWithoutConnection(api);
  const firstRun = (await api.call('POST', '/v1/collections', { body: {} })).body.id as string;
  await waitFor(async () => (await api.call('GET', `/v1/evaluations?collection_id=${firstRun}`)).body.items.find((e: { status: string }) => e.status === 'complete'), 'a run evaluated');

  // The crash window of earlier versions: each row committed `queued`, the process gone before its job was sent.
  const context = { actor: 'test', actorKeyId: null, role: 'admin' };
  const run = await api.app.db.transaction((trx) => createRun(trx, { trigger: 'api', context }));
  const evaluation = await createEvaluation(api.app.db, { runId: firstRun, trigger: 'api', requestedBy: 'test' });
  const dq = await api.app.db.transaction((trx) => createDqRun(trx, { ruleIds: [rule.id], scope: { rule_id: rule.id }, trigger: 'api', context }));
  // And one sent as earlier versions sent it (another id, the singleton key): it has a job, and gets no second.
  const sent = await createEvaluation(api.app.db, { runId: firstRun, trigger: 'api', requestedBy: 'test' });
  await api.app.jobs.send('evaluation', { evaluationId: sent.id }, `evaluation:${sent.id}`);
  await new Promise((r) => setTimeout(r, 3_000));
  t.equal((await owner('collection_runs').where({ id: run.id }).first()).status, 'queued', 'nothing runs the run');
  t.equal((await owner('evaluations').where({ id: evaluation.id }).first()).status, 'queued', 'nothing runs the evaluation');
  t.equal((await owner('data_quality_runs').where({ id: dq.id }).first()).status, 'queued', 'nothing runs the data-quality run');

  // The process started again (another instance on the same database): its start queues their jobs.
  const restarted = await buildApp({ config: { databaseUrl: api.databaseUrl, dataDir: await tempDir(), logLevel: 'silent', adminKey: ADMIN_KEY }, announce: () => {} });
  t.teardown(() => restarted.close());
  for (const [queue, id] of [['collection', run.id], ['evaluation', evaluation.id], [RUN_QUEUE, dq.id]] as const) {
    t.same((await owner('pgboss.job').where({ name: queue, id }).select('id')).map((j) => j.id), [id], `${queue}: a job for the row left queued, of its id`);
  }
  t.same(await restarted.jobs.requeueQueued(), {}, 'and none more at the next start');
  const ended = (table: string, id: string) =>
    waitFor(async () => {
      const row = await owner(table).where({ id }).first();
      return ['complete', 'partial', 'failed'].includes(row.status) ? row : undefined;
    }, `${table} ${id} to end`);
  t.equal((await ended('collection_runs', run.id)).status, 'complete');
  t.equal((await ended('evaluations', evaluation.id)).status, 'complete');
  t.equal((await ended('evaluations', sent.id)).status, 'complete');
  t.equal((await ended('data_quality_runs', dq.id)).status, 'failed', 'ended (no connection to check the rule with)');
  await waitFor(async () => ((await owner('evaluations').where({ run_id: run.id, status: 'complete' })).length ? true : undefined), "the run's evaluation");
  t.equal((await owner('evaluations').where({ run_id: run.id })).length, 1, 'the run evaluated once');
  t.equal((await owner('data_quality_results').where({ run_id: dq.id })).length, 1, 'the rule checked once');
  t.equal((await jobsOf(owner, 'evaluation', 'evaluationId', sent.id)).length, 1, 'the evaluation sent as before got no second job');
  t.same(await owner('collection_runs').where({ status: 'queued' }).select('id'), [], 'no run queued');
  t.same(await owner('evaluations').where({ status: 'queued' }).select('id'), [], 'no evaluation queued');
});
