import t, { type Test } from 'tap';
import { v7 as uuidv7 } from 'uuid';
import { createKnex } from '../../src/db/database.js';
import { DecisionLogWriter, type DecisionLogRow } from '../../src/policy/decision-log.js';
import { maintainDecisionLog } from '../../src/policy/decision-log-retention.js';
import { freshDatabaseUrl } from '../helpers/app.js';

const row = (input: unknown = { principal: 'p', n: 1 }): DecisionLogRow => ({
  id: uuidv7(),
  entrypoint: 'custos/access/decision',
  input: JSON.stringify(input),
  result: JSON.stringify({ decision: 'deny' }),
  defined: true,
  error: null,
  bundle_id: null,
  bundle_revision: 'r1',
  actor: 'pipeline-key',
  actor_key_id: null,
  role: 'pipeline',
  request_id: 'req-1',
  duration_ms: 0.1,
});

async function database(t: Test) {
  const knex = createKnex(await freshDatabaseUrl());
  t.teardown(() => knex.destroy());
  await knex.migrate.latest();
  return knex;
}

t.test('concurrent writers share commits, and every row is stored exactly once', async (t) => {
  const knex = await database(t);
  const writer = new DecisionLogWriter(knex, { maxInFlight: 2 });
  const rows = Array.from({ length: 300 }, (_, i) => row({ principal: 'p', n: i }));
  await Promise.all(rows.map((r) => writer.write([r])));
  const stored = await knex('decision_log').whereIn('id', rows.map((r) => r.id)).select('id', 'input');
  t.equal(stored.length, 300, 'all 300 decisions logged');
  t.same(stored.find((s) => s.id === rows[42]!.id)!.input, { principal: 'p', n: 42 }, 'input stored as JSON, not as a JSON string');
});

t.test('one row PostgreSQL refuses fails only its own caller, not those sharing its commit', async (t) => {
  const knex = await database(t);
  // One writer slot: everything queued behind the first insert goes out as one group.
  const writer = new DecisionLogWriter(knex, { maxInFlight: 1 });
  const good = Array.from({ length: 20 }, (_, i) => row({ n: i }));
  const bad = row({ context: { note: 'nul \u0000 here' } });
  const results = await Promise.allSettled([...good.slice(0, 10), bad, ...good.slice(10)].map((r) => writer.write([r])));
  t.equal(results.filter((r) => r.status === 'rejected').length, 1, 'exactly one caller fails');
  t.equal(results[10]!.status, 'rejected', 'and it is the one with the NUL');
  t.equal(Number((await knex('decision_log').count('* as n').first())!.n), 20, 'the 20 others are logged');
});

t.test('the log is partitioned by month; months ahead are prepared; rows are append-only', async (t) => {
  const knex = await database(t);
  const partitions = async () => (await knex.raw(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'decision_log'::regclass ORDER BY 1`)).rows.map((r: { relname: string }) => r.relname);
  const now = new Date();
  const month = (offset: number) => {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
    return `decision_log_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
  };
  const before = await partitions();
  t.ok(before.includes('decision_log_default'), 'a default partition catches anything unprepared');
  t.ok(before.includes(month(0)) && before.includes(month(3)), 'this month and three ahead exist after migrating');
  const again = await maintainDecisionLog(knex, 400);
  t.equal(again.created, 0, 'preparing again creates nothing');

  const r = row();
  await new DecisionLogWriter(knex).write([r]);
  const where = (await knex.raw(`SELECT tableoid::regclass::text AS part FROM decision_log WHERE id = ?`, [r.id])).rows[0].part;
  t.equal(where, month(0), 'a new decision lands in this month');
  await t.rejects(knex('decision_log').where({ id: r.id }).update({ actor: 'someone else' }), /append-only/, 'UPDATE refused');
  await t.rejects(knex('decision_log').where({ id: r.id }).delete(), /append-only/, 'DELETE refused');
  await t.rejects(knex.raw(`TRUNCATE ${month(0)}`), /append-only/, 'TRUNCATE of a partition refused');
});

t.test('retention drops whole months older than the retention, audited, and never a recent one', async (t) => {
  const knex = await database(t);
  const old = new Date(Date.now() - 800 * 86_400_000);
  await knex.raw('SELECT decision_log_prepare_partitions(?, 0)', [old]);
  const oldRows = Array.from({ length: 3 }, () => ({ ...row(), at: old }));
  await knex('decision_log').insert(oldRows);
  const recent = row();
  await new DecisionLogWriter(knex).write([recent]);

  const { dropped } = await maintainDecisionLog(knex, 400);
  t.ok(dropped.length >= 12, `months older than 400 days are dropped (${dropped.length})`);
  t.equal(dropped.reduce((n, d) => n + d.decisions, 0), 3, 'the three old decisions were in them');
  t.equal(Number((await knex('decision_log').count('* as n').first())!.n), 1, 'the recent decision stays');
  const audit = await knex('audit_log').where({ entity: 'decision_log_partition', action: 'drop' });
  t.equal(audit.length, dropped.length, 'one audit row per dropped month');
  t.ok(audit.some((a) => a.old_value.decisions === 3), 'naming how many decisions left with it');

  await t.rejects(knex.raw('SELECT * FROM decision_log_drop_partitions(now() - interval \'10 days\')'), /younger than 90 days/, 'the database refuses a cutoff under 90 days');
});

t.test('a bundle the log cites can never be deleted, even by the owner (the foreign key per row is gone)', async (t) => {
  const knex = await database(t);
  const id = uuidv7();
  await knex('policy_bundles').insert({ id, revision: 'r1', sha256: 'x'.repeat(64), archive: Buffer.from('x'), size_bytes: 1, entrypoints: '[]', rules: '[]', uploaded_by: 'test' });
  await new DecisionLogWriter(knex).write([{ ...row(), bundle_id: id }]);
  await t.rejects(knex('policy_bundles').where({ id }).delete(), /policy_bundles keeps every bundle/, 'DELETE refused');
  await t.rejects(knex.raw('TRUNCATE policy_bundles CASCADE'), /policy_bundles keeps every bundle/, 'TRUNCATE refused');
  t.equal(Number((await knex('policy_bundles').count('* as n').first())!.n), 1, 'the bundle is still there');
});
