/**
 * An evaluation and a data-quality run always end (src/jobs/workflows.ts, src/data-quality/index.ts):
 * when their pg-boss job fails every attempt, or its last attempt expires (the process running it
 * died), the job goes to the queue's dead letter, whose handler ends the row `failed` with an error
 * naming the step and its last error, unless the row had finished already. Before, such a row stayed
 * `running` (or `queued`) for good. Faults are injected with triggers on the owner's connection; an
 * expired last attempt is a pg-boss job row `active` past its timeout, on its last retry, that
 * pg-boss's maintenance (every 2 s here) fails as it would a dead instance's.
 */
import t, { type Test } from 'tap';
import type { Knex } from 'knex';
import { createKnex } from '../../src/db/database.js';
import { createRun as createDqRun } from '../../src/data-quality/runs.js';
import { createEvaluation } from '../../src/evaluation/evaluate.js';
import { create, testApp, waitFor, type TestApp } from '../helpers/app.js';

const FINISHED = ['complete', 'partial', 'failed'];
const CONTEXT = { actor: 'test', actorKeyId: null, role: 'admin' };

/** The owner's connection: the service's own role may not create triggers. */
function ownerOf(t: Test, api: TestApp): Knex {
  const owner = createKnex(api.databaseUrl);
  t.teardown(() => owner.destroy());
  return owner;
}

/** A trigger on `table` that raises `message` when `when` holds of NEW (and OLD). */
async function injectFault(owner: Knex, name: string, table: string, when: string, message: string) {
  await owner.raw(`CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '${message}'; END $$`);
  await owner.raw(`DROP TRIGGER IF EXISTS ${name} ON ${table}`);
  await owner.raw(`CREATE TRIGGER ${name} BEFORE UPDATE ON ${table} FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION ${name}()`);
}

/** A source whose stored services are none: its runs are planned into no unit, so they finish without AWS. */
async function sourceWithoutUnits(api: TestApp) {
  const source = await create(api, '/v1/sources', { name: 'no-units', account_id: '111122223333', region: 'us-east-1', services: ['s3'] });
  await api.app.db('sources').update({ services: JSON.stringify([]) }).where({ id: source.id });
}

/** A complete run and its complete evaluation. */
async function evaluatedRun(api: TestApp) {
  await sourceWithoutUnits(api);
  const runId = (await api.call('POST', '/v1/collections', { body: {} })).body.id as string;
  const evaluation = await waitFor(async () => (await api.call('GET', `/v1/evaluations?collection_id=${runId}`)).body.items.find((e: { status: string }) => e.status === 'complete'), 'the run evaluated');
  return { runId, evaluation };
}

/** A row-count rule on a catalog table of no registered connection: its runs store one `error` result, without a database to check. */
async function ruleWithoutConnection(api: TestApp) {
  await create(api, '/v1/domains', { name: 'Client', owner: 'o@bank.example', steward: 's@bank.example', review_frequency: 'monthly' });
  const asset = await create(api, '/v1/assets', { store: 'aurora', database: 'wealth', table: 'clients', domain: 'Client', columns: [{ name: 'client_id', data_type: 'int', classification: 'internal' }] });
  return create(api, '/v1/data-quality-rules', { asset_id: asset.id, name: 'rows', rule_type: 'row_count', severity: 'low', definition: { min: 1 } }, 'steward');
}

const ended = (owner: Knex, table: string, id: string, ms = 60_000) =>
  waitFor(async () => {
    const row = await owner(table).where({ id }).first();
    return FINISHED.includes(row?.status) ? row : undefined;
  }, `${table} ${id} to end`, ms);

/**
 * The last attempt of a job that its instance never finished: `active`, on its last retry, past its
 * timeout, as pg-boss leaves the job of a process that died. Its maintenance fails it to the dead letter.
 */
async function expiredLastAttempt(owner: Knex, queue: string, id: string, data: Record<string, string>) {
  const { dead_letter, retry_limit } = await owner('pgboss.queue').where({ name: queue }).select('dead_letter', 'retry_limit').first();
  await owner('pgboss.job').insert({
    id, name: queue, data: JSON.stringify(data), state: 'active', retry_limit, retry_count: retry_limit, dead_letter,
    started_on: owner.raw("now() - interval '1 hour'"), expire_in: owner.raw("interval '1 second'"),
  });
}

t.test('an evaluation whose every attempt fails ends failed, naming the step and its last error; it resolves nothing', async (t) => {
  const api = await testApp(t);
  const owner = ownerOf(t, api);
  const { runId, evaluation: first } = await evaluatedRun(api);

  // Its end cannot be stored, and nor can the `failed` its own error handling writes: the job throws at every attempt.
  await injectFault(owner, 'evaluation_not_ending', 'evaluations', "NEW.status IN ('complete', 'failed') AND coalesce(NEW.error, '') NOT LIKE 'evaluation failed after %'", 'injected fault: the evaluation cannot be stored');
  const started = Date.now();
  const queued = await api.call('POST', '/v1/evaluations', { body: { collection_id: runId } });
  t.equal(queued.status, 202);
  const evaluation = await waitFor(async () => {
    const body = (await api.call('GET', `/v1/evaluations/${queued.body.id}`)).body;
    return FINISHED.includes(body.status) ? body : undefined;
  }, 'the evaluation to end', 60_000);
  t.equal(evaluation.status, 'failed');
  t.equal(evaluation.error, 'evaluation failed after 3 attempts: injected fault: the evaluation cannot be stored');
  t.ok(evaluation.finished_at, 'finished');
  t.ok(Date.now() - started >= 2_000, `retried with backoff before giving up (${Date.now() - started} ms)`);
  const attempts = await owner('pgboss.job').where({ name: 'evaluation', id: queued.body.id }).select('state', 'retry_count').first();
  t.match(attempts, { state: 'failed', retry_count: 2 }, 'its job failed its 3 attempts');
  t.equal(Number((await owner('evaluation_findings').where({ evaluation_id: queued.body.id }).count('* as n').first())!.n), 0, 'it reported no finding');
  const controls = (await api.call('GET', '/v1/controls')).body.items as Array<{ evaluation_id: string | null }>;
  t.ok(controls.length > 0 && controls.every((c) => c.evaluation_id === null || c.evaluation_id === first.id), 'control statuses still come from the last complete evaluation');

  // Repaired, the next evaluation completes.
  await owner.raw('DROP TRIGGER evaluation_not_ending ON evaluations');
  const next = await api.call('POST', '/v1/evaluations', { body: { collection_id: runId } });
  t.equal((await ended(owner, 'evaluations', next.body.id)).status, 'complete', 'the next evaluation completes');
  t.equal((await owner('evaluations').where({ id: queued.body.id }).first()).status, 'failed', 'the failed one stays failed');
});

t.test("an evaluation whose last attempt expired (its process died) ends failed; a finished one's is left alone", async (t) => {
  const api = await testApp(t, { config: { collectionUnitTimeoutSeconds: 5 } });
  const owner = ownerOf(t, api);
  const { runId, evaluation: finished } = await evaluatedRun(api);

  // An evaluation marked running by a process that died during its last attempt, and a finished evaluation whose job expired after it had finished.
  const evaluation = await createEvaluation(owner, { runId, trigger: 'api', requestedBy: 'test' });
  await owner('evaluations').update({ status: 'running', started_at: owner.fn.now() }).where({ id: evaluation.id });
  await expiredLastAttempt(owner, 'evaluation', evaluation.id, { evaluationId: evaluation.id });
  const before = await owner('evaluations').where({ id: finished.id }).first();
  await owner('pgboss.job').where({ name: 'evaluation', id: finished.id }).delete();
  await expiredLastAttempt(owner, 'evaluation', finished.id, { evaluationId: finished.id });

  const failed = await ended(owner, 'evaluations', evaluation.id);
  t.equal(failed.status, 'failed');
  t.equal(failed.error, 'evaluation failed after 3 attempts: the instance running it stopped or its attempt timed out');
  t.ok(failed.finished_at, 'finished');
  await waitFor(async () => ((await owner('pgboss.job').where({ name: 'evaluation-gave-up', state: 'completed' })).length === 2 ? true : undefined), 'both dead letters handled');
  t.same(await owner('evaluations').where({ id: finished.id }).first(), before, 'the complete evaluation is left as it was');
});

t.test('a data-quality run whose every attempt fails ends failed with its results, naming the step and its last error', async (t) => {
  const api = await testApp(t);
  const owner = ownerOf(t, api);
  const rule = await ruleWithoutConnection(api);

  // The run's end cannot be stored (but a given-up end can): every attempt checks what is left (nothing, after the first) and throws.
  await injectFault(owner, 'dq_run_not_ending', 'data_quality_runs', "NEW.status IN ('complete', 'partial', 'failed') AND coalesce(NEW.error, '') NOT LIKE 'data quality run failed after %'", 'injected fault: the run cannot be stored');
  const started = await api.call('POST', `/v1/data-quality-rules/${rule.id}/run`, { as: 'steward', body: {} });
  t.equal(started.status, 202);
  const run = await waitFor(async () => {
    const body = (await api.call('GET', `/v1/data-quality-runs/${started.body.id}`)).body;
    return FINISHED.includes(body.status) ? body : undefined;
  }, 'the run to end', 60_000);
  t.equal(run.status, 'failed');
  t.equal(run.error, 'data quality run failed after 3 attempts: injected fault: the run cannot be stored');
  t.ok(run.finished_at, 'finished');
  t.match(run.counts, { rules: 1, error: 1, passed: 0, failed: 0 }, 'its counts, from the result it stored');
  t.equal((await owner('data_quality_results').where({ run_id: run.id })).length, 1, 'the rule checked once over the attempts');
  const evidence = await owner('evidence_items').where({ kind: 'data_quality', source_id: run.id }).select('control_id', 'body');
  t.same(evidence.map((e) => e.control_id).sort(), ['C1.1', 'PI1.2', 'PI1.5'], 'its evidence');
  const body = evidence[0]!.body;
  t.match(typeof body === 'string' ? JSON.parse(body) : body, { status: 'failed', error: run.error }, 'evidence of a failed run');
});

t.test("a data-quality run whose last attempt expired ends failed; a finished one's is left alone", async (t) => {
  const api = await testApp(t, { config: { collectionUnitTimeoutSeconds: 5 } });
  const owner = ownerOf(t, api);
  const rule = await ruleWithoutConnection(api);
  const done = await api.call('POST', `/v1/data-quality-rules/${rule.id}/run`, { as: 'steward', body: {} });
  const finished = await ended(owner, 'data_quality_runs', done.body.id);

  const run = await api.app.db.transaction((trx) => createDqRun(trx, { ruleIds: [rule.id], scope: { rule_id: rule.id }, trigger: 'api', context: CONTEXT }));
  await owner('data_quality_runs').update({ status: 'running', started_at: owner.fn.now() }).where({ id: run.id });
  await expiredLastAttempt(owner, 'data-quality-run', run.id, { runId: run.id });
  await owner('pgboss.job').where({ name: 'data-quality-run', id: finished.id }).delete();
  await expiredLastAttempt(owner, 'data-quality-run', finished.id, { runId: finished.id });

  const failed = await ended(owner, 'data_quality_runs', run.id);
  t.equal(failed.status, 'failed');
  t.equal(failed.error, 'data quality run failed after 3 attempts: the instance running it stopped or its attempt timed out');
  t.match(failed.counts, { rules: 0 }, 'no rule checked');
  await waitFor(async () => ((await owner('pgboss.job').where({ name: 'data-quality-run-gave-up', state: 'completed' })).length === 2 ? true : undefined), 'both dead letters handled');
  t.same(await owner('data_quality_runs').where({ id: finished.id }).first(), finished, 'the finished run is left as it was');
});
