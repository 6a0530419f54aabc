/**
 * The budget of a background policy task is the CPU its thread uses, not the time it waits for a CPU
 * (src/policy/task-budget.ts); a wall-clock bound still ends a task starved for good, and a task
 * that uses its grace is lowered to the background priority. Real threads, read from /proc.
 */
import t from 'tap';
import { watchTask, wallBoundMs, type TaskBudget } from '../../src/policy/task-budget.js';
import { threadStat } from '../../src/policy/thread-priority.js';
import { threadOfItsOwn } from '../helpers/hostile.js';

const linux = process.platform === 'linux' ? false : 'thread CPU is read on Linux only';

function watched(tid: number | undefined, budget: TaskBudget) {
  const started = performance.now();
  let stopped: { reason: string; afterMs: number } | undefined;
  const watch = watchTask(tid, budget, (reason) => (stopped = { reason, afterMs: performance.now() - started }));
  return { watch, stopped: () => stopped };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('a thread waiting longer than its CPU budget is not stopped at the budget, only at the wall bound', { skip: linux }, async (t) => {
  const tid = await threadOfItsOwn(t, 'sleep');
  const { watch, stopped } = watched(tid, { cpuMs: 300, nice: 19, graceCpuMs: 100 });
  t.teardown(() => watch.end());
  await sleep(1_000);
  t.equal(stopped(), undefined, 'still running after three times its CPU budget, having used none of it');
  t.equal(watch.lowered, false, 'and not lowered: it used no grace');
  t.equal(threadStat(tid)?.nice, 0);
  while (!stopped() && performance.now() < 10_000_000) await sleep(50);
  t.match(stopped(), { reason: /took longer than 1800 ms and was stopped \(waiting for a CPU; \d+ ms of CPU used\)/ });
  t.ok(stopped()!.afterMs >= wallBoundMs(300), `stopped after ${Math.round(stopped()!.afterMs)} ms`);
});

t.test('a spinning thread is lowered once it has used its grace', { skip: linux }, async (t) => {
  const tid = await threadOfItsOwn(t, 'spin');
  await sleep(50);
  const { watch, stopped } = watched(tid, { cpuMs: 60_000, nice: 19, graceCpuMs: 200 });
  t.teardown(() => watch.end());
  t.equal(threadStat(tid)?.nice, 0, 'it starts at the normal priority');
  while (!watch.lowered) await sleep(20);
  t.ok(threadStat(tid)!.cpuMs >= 200, 'after 200 ms of CPU');
  t.equal(threadStat(tid)?.nice, 19, 'lowered');
  t.equal(stopped(), undefined, 'not stopped');
});

t.test('a spinning thread is stopped once it has used its CPU budget', { skip: linux }, async (t) => {
  // At the normal priority throughout (its grace exceeds its budget), and with a wall bound far off,
  // so that a busy machine does not starve it into the wall bound instead.
  const tid = await threadOfItsOwn(t, 'spin');
  const { watch, stopped } = watched(tid, { cpuMs: 300, nice: 19, graceCpuMs: 1_000, wallMs: 120_000 });
  t.teardown(() => watch.end());
  while (!stopped()) await sleep(20);
  t.match(stopped(), { reason: /^took longer than 300 ms and was stopped \(\d+ ms of CPU\)$/ });
  t.ok(Number(/\((\d+) ms/.exec(stopped()!.reason)?.[1]) >= 300, stopped()!.reason);
  t.equal(watch.lowered, false);
});

t.test('a task lowered from its start (an estate evaluation) runs at its niceness at once', { skip: linux }, async (t) => {
  const tid = await threadOfItsOwn(t, 'sleep');
  const { watch } = watched(tid, { cpuMs: 10_000, nice: 10, graceCpuMs: 0 });
  t.teardown(() => watch.end());
  t.equal(watch.lowered, true);
  t.equal(threadStat(tid)?.nice, 10);
});

t.test('without a thread id the budget is wall time', async (t) => {
  const { watch, stopped } = watched(undefined, { cpuMs: 200, nice: 19, graceCpuMs: 0 });
  t.teardown(() => watch.end());
  while (!stopped()) await sleep(20);
  t.match(stopped(), { reason: 'took longer than 200 ms and was stopped' });
  t.ok(stopped()!.afterMs >= 195, `after ${Math.round(stopped()!.afterMs)} ms`);
  t.equal(watch.lowered, false);
});

t.test('the wall bound: six times the CPU budget, at most ten minutes more than it', async (t) => {
  t.equal(wallBoundMs(10_000), 60_000);
  t.equal(wallBoundMs(15 * 60_000), 25 * 60_000);
});
