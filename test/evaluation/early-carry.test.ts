/**
 * An incremental evaluation carries the base's standing verdicts and pending violations over in its own transaction while
 * the changed items are still judged (src/evaluation/evaluate.ts). That write must stay all or
 * nothing with the rest: when judging fails after it, nothing of it commits and its connection goes
 * back to the pool; when judging falls back to one evaluation of the whole input, the whole result
 * is written alone, as if nothing had been carried.
 */
import t from 'tap';
import { changeResources, syntheticEstate, type EstateSizes } from '../../bench/synthetic-estate.js';
import { loadDemoData } from '../../src/demo/load.js';
import { createEvaluation, runEvaluation } from '../../src/evaluation/evaluate.js';
import type { PolicyEngine } from '../../src/policy/engine.js';
import { SCOPED_VIOLATIONS } from '../../src/policy/entrypoints.js';
import { importSnapshot } from '../../src/sources/collections.js';
import { testApp } from '../helpers/app.js';

const context = { actor: 'test', actorKeyId: null, role: 'system' };
const SIZES: EstateSizes = { resources: 1_200, findings: 600, permissions: 200, accounts: 3, regions: 2 };
const EARLY = 'carry-over, while judging';

/**
 * A service with a base evaluation of one run and a second run with 1% of its resources changed;
 * `evaluate` evaluates the second run with the engine's part evaluation replaced by `part` (given the
 * original and the evaluation's phases, where the early carry-over records itself when done).
 */
async function setUp(t: Parameters<typeof testApp>[0]) {
  const api = await testApp(t, { workers: false });
  const { db, policy } = api.app;
  await loadDemoData(db);
  const estate = syntheticEstate(SIZES);
  const first = await importSnapshot(db, estate, { trigger: 'file', context });
  t.match(await runEvaluation(db, policy, (await createEvaluation(db, { runId: first.id, trigger: 'api', requestedBy: 'test' })).id), { status: 'complete' }, 'the base');
  const second = await importSnapshot(db, changeResources(estate, 0.01, SIZES), { trigger: 'file', context });
  const evaluate = async (part?: (original: PolicyEngine['evaluatePart'], phases: Record<string, number>) => PolicyEngine['evaluatePart'], incremental?: boolean) => {
    const engine = policy.current().engine;
    const original = engine.evaluatePart;
    const phases: Record<string, number> = {};
    if (part) engine.evaluatePart = part(original.bind(engine), phases);
    try {
      const evaluation = await runEvaluation(db, policy, (await createEvaluation(db, { runId: second.id, trigger: 'api', requestedBy: 'test' })).id, { phases, ...(incremental === undefined ? {} : { incremental }) });
      return { evaluation, phases };
    } finally {
      engine.evaluatePart = original;
    }
  };
  /** The findings' rows as an evaluation leaves them (what a rolled-back carry-over must not touch). */
  const findings = async () => (await db('findings').join('finding_sightings', 'finding_id', 'id').select('id', 'status', 'last_seen_at', 'last_evaluation_id', 'resolved_at').orderBy('id')).map((row) => JSON.stringify(row));
  const members = async (evaluationId: string) => (await db('evaluation_findings').select('finding_id', 'reported', 'exception_id').where({ evaluation_id: evaluationId }).orderBy('finding_id')).map((row) => JSON.stringify(row));
  return { db, evaluate, findings, members };
}

/** Waits (while a part is being evaluated) until the early carry-over has been written. */
async function carried(phases: Record<string, number>): Promise<void> {
  const end = Date.now() + 60_000;
  while (phases[EARLY] === undefined) {
    if (Date.now() > end) throw new Error('the early carry-over was not written within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

t.test('judging fails after the standing verdicts were carried over: nothing commits, the connection is returned', async (t) => {
  const { db, evaluate, findings, members } = await setUp(t);
  const before = await findings();
  const { evaluation, phases } = await evaluate((_original, phases) => async () => {
    await carried(phases);
    throw new Error('the policy thread died');
  });
  t.ok(phases[EARLY] !== undefined, 'the carry-over was written while judging');
  t.match(evaluation, { status: 'failed', error: /the policy thread died/ });
  t.strictSame(await findings(), before, 'no finding was touched: the carried-over verdicts were rolled back');
  t.strictSame(await members(evaluation.id), [], 'the failed evaluation has no findings');
  t.equal((db.client as unknown as { pool: { numUsed(): number } }).pool.numUsed(), 0, 'no connection is left checked out');

  // The next evaluation of the same run carries them over and completes, as a full one reports.
  const { evaluation: again } = await evaluate();
  t.match(again, { status: 'complete', mode: 'incremental' });
  t.ok(again.counts.reused_violations! > 0, `${again.counts.reused_violations} verdicts reused`);
});

t.test('judging falls back to the whole input after the carry-over: the whole result alone is written', async (t) => {
  const { evaluate, members } = await setUp(t);
  let broken = false;
  // An account or resource part answers a violation about an item outside it (a bundle that breaks
  // its word): the evaluation is then made once over the whole input.
  const { evaluation, phases } = await evaluate((original, phases) => async (entrypoints, input) => {
    const answers = await original(entrypoints, input);
    // The catalog rules promise nothing about items: a violation outside a part is an account or resource rule's.
    if (broken || entrypoints.includes(SCOPED_VIOLATIONS.catalog)) return answers;
    await carried(phases);
    broken = true;
    const outside = { id: 's3.bucket_public_read', msg: 'outside', severity: 'high', resource: { type: 'AWS::S3::Bucket', id: 'not-in-this-part', account: '000000000000', region: 'nowhere' } };
    return answers.map((answer) => ({ ...answer, result: [...((answer.result as unknown[]) ?? []), outside] }));
  });
  t.ok(phases[EARLY] !== undefined, 'the carry-over was written before the fallback');
  t.match(evaluation, { status: 'complete', mode: 'whole', counts: { reused_violations: 0 } }, String(evaluation.error));
  const { evaluation: full } = await evaluate(undefined, false);
  t.match(full, { status: 'complete', mode: 'parts' });
  const reported = async (id: string) => (await members(id)).map((row) => JSON.parse(row)).filter((row) => row.reported).map((row) => row.finding_id).sort();
  t.strictSame(await reported(evaluation.id), await reported(full.id), 'the same findings as a full evaluation, none carried twice');
  t.equal(evaluation.counts.violations, full.counts.violations);
});

t.test('the evidence of an incremental evaluation, its carried verdicts read ahead, lists what a full evaluation of the same run lists', async (t) => {
  const { db, evaluate } = await setUp(t);
  const { evaluation: incremental } = await evaluate();
  t.match(incremental, { status: 'complete', mode: 'incremental' });
  t.ok(incremental.counts.reused_violations! > 0, `${incremental.counts.reused_violations} verdicts carried over, their evidence entries read ahead`);
  const { evaluation: full } = await evaluate(undefined, false);
  t.match(full, { status: 'complete', mode: 'parts' });
  const bodies = async (id: string) =>
    Object.fromEntries(
      (await db('evidence_items').where({ kind: 'evaluation', source_id: id }).orderBy('control_id').select('control_id', 'body')).map(({ control_id, body }) => [
        control_id,
        { status: body.status, failing: body.failing_findings, excepted: body.excepted_findings },
      ]),
    );
  const [mine, theirs] = [await bodies(incremental.id), await bodies(full.id)];
  t.ok(Object.values(mine).some((b) => (b as { failing: unknown[] }).failing.length > 100), 'controls with many failing findings');
  t.strictSame(mine, theirs, 'per control: the same status and the same findings, field for field');
});
