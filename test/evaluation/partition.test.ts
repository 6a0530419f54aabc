/**
 * An estate evaluated in parts (by resource and by account, on every core) and incrementally
 * (verdicts on unchanged resources reused) gives exactly what one evaluation of the whole input
 * gives, with the compiled bundle (policies/bundle.tar.gz), on the demo estate and a synthetic one
 * of several accounts and regions (src/evaluation/partition.ts).
 */
import t from 'tap';
import { v7 as uuidv7 } from 'uuid';
import { changeResources, syntheticEstate, type EstateSizes } from '../../bench/synthetic-estate.js';
import { loadDemoData } from '../../src/demo/load.js';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { createEvaluation, failEvaluation, runEvaluation, runInput, sharedInput } from '../../src/evaluation/evaluate.js';
import { evaluateInParts } from '../../src/evaluation/partition.js';
import { COMPLIANCE_VIOLATIONS } from '../../src/policy/entrypoints.js';
import type { Violation } from '../../src/policy/input.js';
import { holdsAt, withRules } from '../../src/evaluation/time-bound.js';
import { importSnapshot } from '../../src/sources/collections.js';
import { testApp } from '../helpers/app.js';

const context = { actor: 'test', actorKeyId: null, role: 'system' };
// 3,000 resources over 5 accounts and 3 regions: several account groups and resource parts.
const SIZES: EstateSizes = { resources: 3_000, findings: 1_500, permissions: 600, accounts: 5, regions: 3 };

/** A violation set in one canonical order, each as its JSON (duplicates kept: a set must be equal, not just similar). */
/** A run as the evaluation reads it. */
const asRun = (run: { id: string; observed_at: string | null }) => ({ id: run.id, observed_at: run.observed_at! });

const canonical = (violations: Violation[]) => violations.map((v) => JSON.stringify(v)).sort();

/** A service on the demo catalog, the synthetic estate, and an evaluation of a run (incremental unless told not to). */
async function evaluating(t: Parameters<typeof testApp>[0]) {
  const api = await testApp(t, { workers: false });
  const { db, policy } = api.app;
  await loadDemoData(db);
  const evaluate = async (runId: string, incremental?: boolean) =>
    runEvaluation(db, policy, (await createEvaluation(db, { runId, trigger: 'api', requestedBy: 'test' })).id, incremental === undefined ? {} : { incremental });
  return { db, policy, estate: syntheticEstate(SIZES), evaluate };
}

t.test('in parts = whole: the demo estate and a synthetic one, with the compiled bundle', async (t) => {
  const api = await testApp(t, { workers: false });
  const { db, policy } = api.app;
  await loadDemoData(db);
  const { engine } = policy.current();
  t.ok(engine.partitionable, 'the compiled bundle has the per-scope entrypoints');
  t.same(
    [...new Set(engine.rules().map((r) => r.scope))].sort(),
    ['account', 'catalog', 'resource'],
    'every rule declares its scope (none is evaluated whole)',
  );

  for (const [name, snapshot] of [
    ['demo estate', wealthEstate],
    ['synthetic estate', syntheticEstate(SIZES)],
  ] as const) {
    const run = await importSnapshot(db, snapshot, { trigger: 'file', context });
    // With each rule's metadata attached where a violation leaves it out, as the evaluation does.
    const whole = withRules((await engine.evaluateLarge(COMPLIANCE_VIOLATIONS, (await runInput(db, asRun(run))).input)).result as Violation[], engine.rules());
    // Small parts and groups, so that the synthetic estate spans several of each.
    const parts = await evaluateInParts(db, engine, run.id, (await sharedInput(db, asRun(run))).input, undefined, { partItems: 400, groupItems: 2_500 });
    if ('whole' in parts) throw new Error(`evaluated whole: ${parts.whole}`);
    t.equal(parts.mode, 'parts', name);
    t.ok(whole.length > 0, `${name}: ${whole.length} violations`);
    t.ok(parts.stats.parts > (name === 'demo estate' ? 2 : 12), `${name}: ${parts.stats.parts} parts`);
    const now = (await sharedInput(db, asRun(run))).input.now;
    t.strictSame(canonical(parts.violations), canonical(whole.filter((v) => holdsAt(v, now))), `${name}: identical violations`);
    // What begins later is kept aside as rows (src/evaluation/time-bound.ts), the same ones.
    const later = whole.filter((v) => !holdsAt(v, now)).map(({ rule: _rule, ...v }) => JSON.stringify(v)).sort();
    t.strictSame((parts.later ?? []).map((row) => JSON.stringify(JSON.parse(row).violation)).sort(), later, `${name}: identical violations that begin later`);
  }
});

t.test('incremental after 1% of resources changed = a full evaluation; the mode is recorded', async (t) => {
  const { db, policy, estate, evaluate } = await evaluating(t);

  const first = await importSnapshot(db, estate, { trigger: 'file', context });
  const firstEvaluation = await evaluate(first.id);
  t.match(firstEvaluation, { status: 'complete', mode: 'parts', counts: { reused_items: 0 } });

  const changed = changeResources(estate, 0.01, SIZES);
  const flipped = changed.resources.filter((r, i) => JSON.stringify(r) !== JSON.stringify(estate.resources[i])).length;
  t.equal(flipped, SIZES.resources / 100, '1% of the resources changed');
  const second = await importSnapshot(db, changed, { trigger: 'file', context });

  const incremental = await evaluate(second.id);
  t.match(incremental, { status: 'complete', mode: 'incremental' });
  t.ok(incremental.counts.reused_violations! > 0, `${incremental.counts.reused_violations} verdicts reused`);
  t.ok(incremental.counts.reused_items! > SIZES.resources * 0.9, `${incremental.counts.reused_items} items not evaluated again`);
  t.ok(incremental.counts.new! > 0 || incremental.counts.resolved! > 0, 'the changes opened or resolved findings');

  // What each evaluation reported, finding by finding (fingerprint and content). Findings are one
  // row per rule and resource, which the full evaluation rewrites: read the incremental one's first.
  const reported = async (evaluationId: string) =>
    (
      await db('evaluation_findings as ef')
        .join('findings as f', 'f.id', 'ef.finding_id')
        .select('f.fingerprint', 'f.msg', 'f.severity', 'f.controls', 'f.rule')
        .where({ 'ef.evaluation_id': evaluationId, 'ef.reported': true })
    )
      .map((row) => JSON.stringify(row))
      .sort();
  const fromIncremental = await reported(incremental.id);

  const full = await evaluate(second.id, false);
  t.match(full, { status: 'complete', mode: 'parts', counts: { reused_items: 0, new: 0, resolved: 0, reopened: 0 } });
  const fromFull = await reported(full.id);
  t.ok(fromFull.length > 0);
  t.strictSame(fromIncremental, fromFull, 'the incremental evaluation reported exactly what the full one did');
  t.equal(incremental.counts.violations, full.counts.violations);

  // And both equal one evaluation of the whole input.
  const { engine } = policy.current();
  const input = (await runInput(db, asRun(second))).input;
  const whole = ((await engine.evaluateLarge(COMPLIANCE_VIOLATIONS, input)).result as Violation[]).filter((v) => holdsAt(v, input.now));
  t.equal(new Set(whole.map((v) => `${v.id}|${v.resource.type}|${v.resource.account}|${v.resource.region}|${v.resource.id}`)).size, full.counts.violations);
});

t.test('incremental after resources were removed and added and Security Hub findings moved to another region = a full evaluation', async (t) => {
  const { db, estate, evaluate } = await evaluating(t);
  const first = await importSnapshot(db, estate, { trigger: 'file', context });
  t.match(await evaluate(first.id), { status: 'complete', mode: 'parts' });

  // Every 97th resource gone, five new ones, and every 50th finding (same id, so the same run item
  // key) reported in another region: each differs from the base run without changing its content.
  const added = estate.resources.slice(0, 5).map((r) => ({ ...r, id: `${r.id}-new`, ...('arn' in r ? { arn: `${r.arn}-new` } : {}) }));
  const moved = estate.findings.map((f, i) => (i % 50 === 0 ? { ...f, region: f.region === 'us-east-1' ? 'us-west-2' : 'us-east-1' } : f));
  const second = await importSnapshot(db, { ...estate, resources: [...estate.resources.filter((_, i) => i % 97 !== 0), ...added], findings: moved }, { trigger: 'file', context });

  const reported = async (evaluationId: string) =>
    (
      await db('evaluation_findings as ef')
        .join('findings as f', 'f.id', 'ef.finding_id')
        .select('f.fingerprint', 'f.msg', 'f.severity', 'f.controls', 'f.rule', 'f.status')
        .where({ 'ef.evaluation_id': evaluationId, 'ef.reported': true })
    )
      .map((row) => JSON.stringify(row))
      .sort();
  const incremental = await evaluate(second.id);
  t.match(incremental, { status: 'complete', mode: 'incremental' });
  t.ok(incremental.counts.reused_violations! > 0, `${incremental.counts.reused_violations} verdicts reused`);
  const fromIncremental = await reported(incremental.id);
  const full = await evaluate(second.id, false);
  t.match(full, { status: 'complete', mode: 'parts', counts: { new: 0, resolved: 0, reopened: 0 } });
  const fromFull = await reported(full.id);
  t.ok(fromFull.length > 0, `${fromFull.length} findings`);
  t.strictSame(fromIncremental, fromFull, 'the incremental evaluation reported exactly what the full one did');
});

t.test('more than a quarter of the items changed since the base: evaluated in full, no verdict reused', async (t) => {
  const { db, estate, evaluate } = await evaluating(t);
  const first = await importSnapshot(db, estate, { trigger: 'file', context });
  t.match(await evaluate(first.id), { status: 'complete', mode: 'parts' });
  // Half the resources: 1,500 of the run's 5,100 items.
  const second = await importSnapshot(db, changeResources(estate, 0.5, SIZES), { trigger: 'file', context });
  const again = await evaluate(second.id);
  t.match(again, { status: 'complete', mode: 'parts', counts: { reused_violations: 0, reused_items: 0 } });
  const full = await evaluate(second.id, false);
  t.equal(again.counts.violations, full.counts.violations, 'the same findings as a full evaluation');
  t.match(full.counts, { new: 0, resolved: 0, reopened: 0 });
});

t.test('violations that begin at a time: unchanged items are not judged again, yet each is reported once it holds, as a full evaluation does', async (t) => {
  const { db, policy, estate, evaluate } = await evaluating(t);
  const TIMED = ['securityhub.finding_sla', 'iam.access_key_rotation', 'iam.unused_credentials'];
  const reported = async (evaluationId: string) =>
    (
      await db('evaluation_findings as ef')
        .join('findings as f', 'f.id', 'ef.finding_id')
        .select('f.fingerprint', 'f.msg', 'f.rule_id')
        .where({ 'ef.evaluation_id': evaluationId, 'ef.reported': true })
    )
      .map((row) => JSON.stringify(row))
      .sort();
  const timed = (rows: string[]) => rows.filter((row) => TIMED.some((id) => row.includes(`"rule_id":"${id}"`)));
  const at = (days: number) => ({ ...estate, observed_at: new Date(Date.parse(estate.observed_at!) + days * 86_400_000).toISOString() });

  const first = await evaluate((await importSnapshot(db, at(-40), { trigger: 'file', context })).id);
  t.ok(Number((await db("evaluation_pending_violations").where({ evaluation_id: first.id }).count("* as n").first())!.n) > 0, 'violations that begin later are kept');
  // The same items seen 40 days later: HIGH findings on time then (30-day SLA) are late now, and
  // access keys rotated or used within 90 days then may not be now.
  const later = await importSnapshot(db, at(0), { trigger: 'file', context });
  const again = await evaluate(later.id);
  t.equal(again.mode, 'incremental');
  t.equal(again.counts.evaluated_items, 0, 'no item changed: none is judged again, the time-bound rules included');
  // Read before the full evaluation, which writes the same findings (one row per rule and resource).
  const fromIncremental = await reported(again.id);
  const full = await evaluate(later.id, false);
  t.equal(full.mode, 'parts');
  const [fromFull, fromFirst] = await Promise.all([reported(full.id), reported(first.id)]);
  t.ok(timed(fromFull).length > timed(fromFirst).length, `${timed(fromFull).length} time-bound findings 40 days later, ${timed(fromFirst).length} before`);
  t.strictSame(fromIncremental, fromFull, 'the incremental evaluation reported exactly what a full one did');

  // And what one evaluation of the whole input holds at that now.
  const { engine } = policy.current();
  const input = (await runInput(db, asRun(later))).input;
  const whole = ((await engine.evaluateLarge(COMPLIANCE_VIOLATIONS, input)).result as Violation[]).filter((v) => holdsAt(v, input.now));
  t.equal(new Set(whole.map((v) => `${v.id}|${v.resource.type}|${v.resource.account}|${v.resource.region}|${v.resource.id}`)).size, full.counts.violations);

  // Back in time: a run observed before the base is evaluated in full, never from a later now's verdicts.
  const earlier = await evaluate((await importSnapshot(db, at(-20), { trigger: 'file', context })).id);
  t.equal(earlier.mode, 'parts', 'a run observed before the base reuses nothing');
  t.strictSame(timed(await reported(earlier.id)).length < timed(fromFull).length, true, 'fewer time-bound findings 20 days earlier');
});

t.test('two violations of one rule about one item, one beginning later: the carried-over finding keeps the message a full evaluation chooses', async (t) => {
  const api = await testApp(t, { workers: false });
  const { db, policy } = api.app;
  const evaluate = async (runId: string, incremental?: boolean) =>
    runEvaluation(db, policy, (await createEvaluation(db, { runId, trigger: 'api', requestedBy: 'test' })).id, incremental === undefined ? {} : { incremental });
  const day = 86_400;
  const base = Date.parse('2026-06-01T00:00:00Z') / 1000;
  // Key 2 is overdue at both runs; key 1 becomes overdue between them (rotated 80 days before the first).
  const user = {
    type: 'AWS::IAM::User', id: 'carol', account: '111122223333', region: 'us-east-1',
    configuration: { created: base - 400 * day, password_enabled: false, password_last_used: null, mfa_active: true,
      access_keys: [{ active: true, last_rotated: base - 80 * day, last_used: base }, { active: true, last_rotated: base - 200 * day, last_used: base }] },
  };
  const snapshot = (days: number) => ({ observed_at: new Date((base + days * day) * 1000).toISOString(), resources: [user], findings: [], lake_formation: { permissions: [] }, settings: [] });
  const rotation = async (evaluationId: string) =>
    (await db('evaluation_findings as ef').join('findings as f', 'f.id', 'ef.finding_id').where({ 'ef.evaluation_id': evaluationId, 'ef.reported': true, 'f.rule_id': 'iam.access_key_rotation' }).select('f.msg')).map((r) => r.msg);

  const first = await evaluate((await importSnapshot(db, snapshot(0), { trigger: 'file', context })).id);
  t.same(await rotation(first.id), ['access key 2 of IAM user carol was not rotated within 90 days']);
  const later = await importSnapshot(db, snapshot(20), { trigger: 'file', context });
  const again = await evaluate(later.id);
  t.equal(again.mode, 'incremental');
  t.equal(again.counts.evaluated_items, 0, 'the user did not change: not judged again');
  // Read before the full evaluation, which writes the same finding (one row per rule and resource).
  const fromIncremental = await rotation(again.id);
  const full = await evaluate(later.id, false);
  t.same(await rotation(full.id), ['access key 2 of IAM user carol was not rotated within 90 days'], 'one finding, the greatest message');
  t.same(fromIncremental, await rotation(full.id), 'the incremental evaluation chose the same message');
  t.equal(again.counts.violations, full.counts.violations, 'each finding counted once');
});

/** What an evaluation reported, finding by finding (fingerprint, rule and message). */
const reportedBy = async (db: import('knex').Knex, evaluationId: string) =>
  (
    await db('evaluation_findings as ef')
      .join('findings as f', 'f.id', 'ef.finding_id')
      .select('f.fingerprint', 'f.rule_id', 'f.account', 'f.msg')
      .where({ 'ef.evaluation_id': evaluationId, 'ef.reported': true })
  )
    .map((row) => JSON.stringify(row))
    .sort();

t.test('account rules: judged again only in the accounts where their items changed; the others keep their verdicts, as a full evaluation finds them', async (t) => {
  const { db, policy, estate, evaluate } = await evaluating(t);

  const first = await evaluate((await importSnapshot(db, estate, { trigger: 'file', context })).id);
  t.ok(first.counts.evaluated_account_items! > SIZES.permissions, `a full evaluation gives the account rules every item of their types (${first.counts.evaluated_account_items})`);

  // The same estate, but one Lake Formation permission of one account now reaches a restricted table.
  const permissions = estate.lake_formation.permissions.map((p) => ({ ...p, resource: { ...p.resource } }));
  const target = permissions.findIndex((p) => p.resource.table !== 'clients');
  const account = permissions[target]!.account;
  permissions[target]!.resource.table = 'clients';
  permissions[target]!.principal = `${permissions[target]!.principal}-new`;
  const second = await importSnapshot(db, { ...estate, lake_formation: { permissions } }, { trigger: 'file', context });
  const incremental = await evaluate(second.id);
  t.equal(incremental.mode, 'incremental');
  t.equal(incremental.counts.evaluated_items, 0, 'no resource or finding changed');
  // The run's permissions (identical ones are one item), of that account and of all.
  const stored = async (where: Record<string, string>) => Number((await db('run_items').where({ run_id: second.id, kind: 'permission', ...where }).count('* as n').first())!.n);
  const ofAccount = await stored({ account });
  t.equal(incremental.counts.evaluated_account_items, ofAccount, `only the changed account's permissions were given to the account rules (${ofAccount} of ${await stored({})})`);
  const fromIncremental = await reportedBy(db, incremental.id);
  t.ok(fromIncremental.some((row) => row.includes('"rule_id":"lakeformation.restricted_column_grant"') && row.includes(`-new can SELECT restricted column`)), 'the new exposure is reported');
  t.ok(fromIncremental.filter((row) => row.includes('"rule_id":"lakeformation.restricted_column_grant"') && !row.includes(`"account":"${account}"`)).length > 0, "the other accounts' exposures are carried over");

  const full = await evaluate(second.id, false);
  const accountTypes = policy.current().engine.rules().filter((r) => r.scope === 'account').flatMap((r) => r.item_types ?? []);
  const accountRuleItems = Number(
    (await db('run_items').where({ run_id: second.id }).where((q) => q.where({ kind: 'resource' }).whereIn('type', accountTypes).orWhere({ kind: 'permission' })).count('* as n').first())!.n,
  );
  t.equal(full.counts.evaluated_account_items, accountRuleItems, `a full evaluation gives them every item of their types again (${accountRuleItems})`);
  t.strictSame(fromIncremental, await reportedBy(db, full.id), 'the incremental evaluation reported exactly what the full one did');
});

t.test('an account rule whose verdict begins at a time: a grant that ends between two evaluations is reported then, without judging the account again', async (t) => {
  const { db, policy, estate, evaluate } = await evaluating(t);
  const at = (days: number) => ({ ...estate, observed_at: new Date(Date.parse(estate.observed_at!) + days * 86_400_000).toISOString() });
  // A permission on the restricted table, covered by an approved whole-table grant that ends 20 days before the estate's time.
  const exposed = estate.lake_formation.permissions.find((p) => p.resource.table === 'clients')!;
  const requestId = uuidv7();
  await db('principals').insert({ id: uuidv7(), arn: exposed.principal, name: 'team', kind: 'pipeline' });
  await db('access_requests').insert({
    id: requestId, requester: 'test', requester_subject: 'test', principal: exposed.principal, scope: 'table', store: 'aurora', database: 'wealth', table_name: 'clients',
    columns: JSON.stringify([]), permissions: JSON.stringify(['SELECT']), purpose: 'review', duration_days: 30, status: 'approved',
  });
  await db('access_grants').insert({
    id: uuidv7(), request_id: requestId, principal: exposed.principal, scope: 'table', store: 'aurora', database: 'wealth', table_name: 'clients',
    columns: JSON.stringify([]), permissions: JSON.stringify(['SELECT']), purpose: 'review',
    starts_at: new Date(Date.parse(estate.observed_at!) - 60 * 86_400_000), expires_at: new Date(Date.parse(estate.observed_at!) - 20 * 86_400_000), status: 'active',
  });
  const covered = (rows: string[]) => rows.filter((row) => row.includes(`${exposed.principal} can SELECT restricted column`));

  const first = await evaluate((await importSnapshot(db, at(-40), { trigger: 'file', context })).id);
  t.same(covered(await reportedBy(db, first.id)), [], 'while the grant is live, its principal is not reported');
  t.ok(Number((await db('evaluation_pending_violations').where({ evaluation_id: first.id, item_kind: 'account', item_key: exposed.account }).count('* as n').first())!.n) > 0, 'the violations that begin when it ends are kept, by account');

  const later = await importSnapshot(db, at(0), { trigger: 'file', context });
  const again = await evaluate(later.id);
  t.equal(again.mode, 'incremental');
  t.equal(again.counts.evaluated_account_items, 0, 'no item changed: no account is judged again');
  const fromIncremental = covered(await reportedBy(db, again.id));
  t.ok(fromIncremental.length > 0 && fromIncremental.every((row) => row.includes('without an expired grant')), `reported once the grant ended (${fromIncremental.length})`);
  const full = await evaluate(later.id, false);
  t.strictSame(await reportedBy(db, again.id), await reportedBy(db, full.id), 'the incremental evaluation reported exactly what the full one did');
});

t.test('pending violations are kept only where an evaluation will read them: its own, and the base an unfinished evaluation chose', async (t) => {
  const { db, estate, evaluate } = await evaluating(t);
  const at = (days: number) => ({ ...estate, observed_at: new Date(Date.parse(estate.observed_at!) + days * 86_400_000).toISOString() });
  const pending = async (evaluationId: string) => Number((await db('evaluation_pending_violations').where({ evaluation_id: evaluationId }).count('* as n').first())!.n);
  const reported = async (evaluationId: string) =>
    (await db('evaluation_findings as ef').join('findings as f', 'f.id', 'ef.finding_id').select('f.fingerprint', 'f.msg').where({ 'ef.evaluation_id': evaluationId, 'ef.reported': true }))
      .map((row) => JSON.stringify(row))
      .sort();

  const first = await evaluate((await importSnapshot(db, at(-40), { trigger: 'file', context })).id);
  t.equal(first.base_evaluation_id, null, 'the first evaluation has no base');
  t.ok((await pending(first.id)) > 0, 'violations that begin later are kept');
  const second = await evaluate((await importSnapshot(db, at(-20), { trigger: 'file', context })).id);
  t.equal(second.mode, 'incremental');
  t.equal(second.base_evaluation_id, first.id, 'the base is recorded');
  t.equal(await pending(first.id), 0, "the base's pending violations went once the next evaluation had carried them");
  t.ok((await pending(second.id)) > 0);

  // An evaluation that chose `second` as its base and has not finished keeps that base's pending
  // violations while others finish.
  const now = await importSnapshot(db, at(0), { trigger: 'file', context });
  const unfinished = await createEvaluation(db, { runId: now.id, trigger: 'api', requestedBy: 'test' });
  await db('evaluations').update({ status: 'running', base_evaluation_id: second.id }).where({ id: unfinished.id });
  const third = await evaluate(now.id);
  t.equal(third.base_evaluation_id, second.id);
  t.ok((await pending(second.id)) > 0, 'kept: an unfinished evaluation will carry them');
  t.ok((await pending(third.id)) > 0);
  // Three evaluations chained, each pruning behind it, report what a full evaluation reports.
  const fromThird = await reported(third.id);
  await failEvaluation(db, unfinished.id, 'test: its job gave up');
  const full = await evaluate(now.id, false);
  t.equal(full.mode, 'parts');
  t.equal(full.base_evaluation_id, null, 'told not to reuse: no base');
  t.strictSame(fromThird, await reported(full.id), 'the incremental chain reported exactly what a full evaluation did');
  t.equal(await pending(second.id), 0, 'gone once no unfinished evaluation names it');
  t.equal(await pending(third.id), 0);
  t.ok((await pending(full.id)) > 0);
  t.equal(Number((await db('evaluation_pending_violations').countDistinct('evaluation_id as n').first())!.n), 1, 'only the latest evaluation keeps pending violations');
});

t.test('a base that does not say it kept its pending violations (made by older code) lends no verdicts', async (t) => {
  const { db, estate, evaluate } = await evaluating(t);
  const first = await evaluate((await importSnapshot(db, estate, { trigger: 'file', context })).id);
  t.equal(first.input_sha256?.kept, 'pending violations of resource and account rules');
  // As code before migration 033 recorded it: the same input hashes, nothing said of what it kept.
  await db('evaluations').update({ input_sha256: db.raw("input_sha256 - 'kept'") }).where({ id: first.id });
  const again = await evaluate((await importSnapshot(db, changeResources(estate, 0.01, SIZES), { trigger: 'file', context })).id);
  t.equal(again.base_evaluation_id, first.id, 'chosen as the base');
  t.equal(again.mode, 'parts', 'but every rule judged afresh');
  t.equal(again.counts.reused_violations, 0);
  const third = await evaluate((await importSnapshot(db, changeResources(estate, 0.02, SIZES), { trigger: 'file', context })).id);
  t.equal(third.mode, 'incremental', 'the next evaluation reuses what this code kept');
});
