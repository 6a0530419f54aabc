/**
 * Background policy threads yield the CPU on Linux (src/policy/thread-priority.ts): an inspection
 * is lowered to niceness 19 after its grace (test/policy/task-budget.test.ts), a whole-estate
 * evaluation (whole or in parts) runs at 10; the main thread and the decision threads keep 0. The
 * niceness is read back from /proc/self/task.
 */
import t from 'tap';
import { lowerThread, threadStat } from '../../src/policy/thread-priority.js';
import { PolicyWorkers, share } from '../../src/policy/workers.js';
import { LOOPING_WASM, processThreads, threadOfItsOwn } from '../helpers/hostile.js';

const linux = process.platform === 'linux' ? false : 'thread priorities are set on Linux only';

t.test('the main thread is never lowered', async (t) => {
  t.equal(lowerThread(process.pid, 19), undefined);
  t.equal((await processThreads()).find((th) => th.tid === process.pid)?.nice, 0);
});

t.test('a worker thread is lowered by its kernel id, never raised again, and only it', { skip: linux }, async (t) => {
  const tid = await threadOfItsOwn(t, 'sleep');
  t.not(tid, process.pid);
  t.same([lowerThread(tid, 10), lowerThread(tid, 19), lowerThread(tid, 5)], [10, 19, 19], 'lowered to 10, then 19, and not raised back to 5');
  t.equal(threadStat(tid)?.nice, 19);
  const threads = await processThreads();
  t.equal(threads.find((th) => th.tid === tid)?.nice, 19, 'its kernel thread runs at 19');
  t.same(threads.filter((th) => th.tid !== tid).map((th) => th.nice).filter((n) => n !== 0), [], 'every other thread of the process at 0');
});

t.test('a whole-estate evaluation runs at niceness 10', { skip: linux }, async (t) => {
  const workers = new PolicyWorkers({ threads: 1, largeMs: 4_000 });
  t.teardown(() => workers.close());
  // A module whose start function loops: the evaluation spins until its budget stops it.
  let settled = false;
  const evaluating = workers
    .evaluateLarge({ key: 'loop', wasm: share(LOOPING_WASM) }, { version: 1, json: share(Buffer.from('{}')) }, 'x', {})
    .catch((error: Error) => error)
    .finally(() => (settled = true));
  // Until the budget stops it (the thread may take seconds to start on a busy machine).
  let seen: Array<{ tid: number; nice: number }> = [];
  while (!settled && seen.length === 0) {
    seen = (await processThreads()).filter((th) => th.nice !== 0);
    if (!seen.length) await new Promise((r) => setTimeout(r, 50));
  }
  t.same(seen.map((th) => th.nice), [10], 'one thread lowered, to 10');
  t.match(String(await evaluating), /took longer than 4000 ms and was stopped/);
});
