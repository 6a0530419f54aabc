/**
 * evaluation_findings' references, checked per statement since migration 036 instead of by two
 * foreign keys: the same refusals, cascades and locks as the foreign keys gave, on real PostgreSQL.
 */
import type { Knex } from 'knex';
import t from 'tap';
import { createKnex, migrateToLatest } from '../../src/db/database.js';
import { describeDatabaseError } from '../../src/db/errors.js';
import { freshDatabaseUrl, until } from '../helpers/app.js';

const RUN = '01900000-0000-7000-8000-0000000000a1';
const EVALUATION = '01900000-0000-7000-8000-0000000000e1';
const OTHER_EVALUATION = '01900000-0000-7000-8000-0000000000e2';
const NOWHERE = '01900000-0000-7000-8000-00000000dead';
const finding = (n: number) => `01900000-0000-7000-8000-${String(n).padStart(12, '0')}`;

async function setUp() {
  const knex = createKnex(await freshDatabaseUrl({ migrated: true }));
  // A copy of the migrated template, or (where the template could not be built) migrated here.
  await migrateToLatest(knex);
  await knex('collection_runs').insert({ id: RUN, status: 'complete', trigger: 'file', requested_by: 'test' });
  await knex('evaluations').insert([EVALUATION, OTHER_EVALUATION].map((id) => ({ id, run_id: RUN, status: 'complete', trigger: 'api', requested_by: 'test' })));
  await knex('findings').insert(
    [1, 2, 3].map((n) => ({
      id: finding(n), fingerprint: `fp-${n}`, rule_id: 'r', severity: 'high', controls: JSON.stringify(['CC6.1']), msg: 'm', rule: '{}',
      resource_type: 'AWS::S3::Bucket', resource_id: `b${n}`, account: '111111111111', region: 'us-east-1', status: 'open',
      first_seen_at: new Date(), first_evaluation_id: EVALUATION,
    })),
  );
  return knex;
}

const members = async (knex: ReturnType<typeof createKnex>) => (await knex('evaluation_findings').orderBy(['evaluation_id', 'finding_id']).select('evaluation_id', 'finding_id')).map((r) => `${r.evaluation_id.slice(-2)}/${r.finding_id.slice(-1)}`);

t.test('a row whose evaluation or finding does not exist fails its whole statement, as the foreign keys did', async (t) => {
  const knex = await setUp();
  t.teardown(() => knex.destroy());
  const error = await knex('evaluation_findings').insert([{ evaluation_id: EVALUATION, finding_id: finding(1) }, { evaluation_id: EVALUATION, finding_id: NOWHERE }]).catch((e) => e);
  t.match(error, { code: '23503', constraint: 'evaluation_findings_finding_fk', detail: `Key (finding_id)=(${NOWHERE}) is not present in table "findings".` });
  t.match(describeDatabaseError(error), { status: 400, detail: /evaluation_findings_finding_fk: refers to something that does not exist/ }, 'read as a reference to nothing, as before');
  t.same(await members(knex), [], 'not even the good row was written');

  const noEvaluation = await knex('evaluation_findings').insert({ evaluation_id: NOWHERE, finding_id: finding(1) }).catch((e) => e);
  t.match(noEvaluation, { code: '23503', constraint: 'evaluation_findings_evaluation_fk', detail: `Key (evaluation_id)=(${NOWHERE}) is not present in table "evaluations".` });

  await knex('evaluation_findings').insert([1, 2, 3].map((n) => ({ evaluation_id: EVALUATION, finding_id: finding(n) })));
  const moved = await knex('evaluation_findings').where({ finding_id: finding(2) }).update({ finding_id: NOWHERE }).catch((e) => e);
  t.match(moved, { code: '23503', constraint: 'evaluation_findings_finding_fk' }, 'an update to a missing finding is refused too');
  await knex('evaluation_findings').where({ finding_id: finding(2) }).update({ reported: false });
  t.same(await members(knex), ['e1/1', 'e1/2', 'e1/3'], 'an update that keeps its references stands');
});

t.test('deleting an evaluation or a finding deletes its membership rows; their ids cannot change under them', async (t) => {
  const knex = await setUp();
  t.teardown(() => knex.destroy());
  await knex('evaluation_findings').insert([
    ...[1, 2, 3].map((n) => ({ evaluation_id: EVALUATION, finding_id: finding(n) })),
    ...[1, 2].map((n) => ({ evaluation_id: OTHER_EVALUATION, finding_id: finding(n) })),
  ]);
  t.match(await knex('findings').where({ id: finding(3) }).update({ id: NOWHERE }).catch((e) => e), { code: '23503', constraint: 'evaluation_findings_finding_fk' });
  t.match(await knex('evaluations').where({ id: OTHER_EVALUATION }).update({ id: NOWHERE }).catch((e) => e), { code: '23503', constraint: 'evaluation_findings_evaluation_fk' });
  t.match(describeDatabaseError(await knex('evaluations').where({ id: OTHER_EVALUATION }).update({ id: NOWHERE }).catch((e) => e)), { status: 409 }, 'still referenced: in use');

  await knex('findings').where({ id: finding(1) }).delete();
  t.same(await members(knex), ['e1/2', 'e1/3', 'e2/2']);
  await knex('evaluations').where({ id: OTHER_EVALUATION }).delete();
  t.same(await members(knex), ['e1/2', 'e1/3']);
});

t.test('the referenced rows are locked as a foreign key locks them: no membership row outlives its finding', async (t) => {
  const knex = await setUp();
  t.teardown(() => knex.destroy());
  const pidOf = async (trx: Knex.Transaction) => (await trx.raw('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
  const waiting = async (pid: number) => (await knex.raw(`SELECT wait_event_type FROM pg_stat_activity WHERE pid = ?`, [pid])).rows[0]?.wait_event_type === 'Lock';

  // An insert first: a delete of its finding waits for it, then takes its row along.
  const inserting = await knex.transaction();
  await inserting('evaluation_findings').insert({ evaluation_id: EVALUATION, finding_id: finding(1) });
  const deleting = await knex.transaction();
  const deletingPid = await pidOf(deleting);
  let deleted = false;
  const deletion = deleting('findings').where({ id: finding(1) }).delete().then(() => (deleted = true));
  await until(async () => deleted || (await waiting(deletingPid)), 'the delete ends or waits for a lock');
  t.notOk(deleted, 'the delete waits for the transaction that refers to the finding');
  await inserting.commit();
  await deletion;
  await deleting.commit();
  t.same(await members(knex), [], 'and then deletes the row that transaction wrote');

  // A delete first: an insert referring to its finding waits, and fails once the delete commits.
  const deleting2 = await knex.transaction();
  await deleting2('findings').where({ id: finding(2) }).delete();
  const inserting2 = await knex.transaction();
  const insertingPid = await pidOf(inserting2);
  const insertion = inserting2('evaluation_findings').insert({ evaluation_id: EVALUATION, finding_id: finding(2) }).then(() => undefined, (e) => e);
  // At most 5 s; the assertion below says whether it came to wait (a throw here would leave both transactions open).
  await until(() => waiting(insertingPid), 'the insert waits for a lock').catch(() => {});
  t.ok(await waiting(insertingPid), 'the insert waits for the delete');
  await deleting2.commit();
  t.match(await insertion, { code: '23503', constraint: 'evaluation_findings_finding_fk' }, 'and is refused once its finding is gone');
  await inserting2.rollback();
  t.same(await members(knex), []);
});
