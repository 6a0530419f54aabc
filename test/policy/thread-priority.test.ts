/**
 * Background policy threads yield the CPU on Linux (src/policy/thread-priority.ts): an inspection
 * runs at niceness 19, a whole-estate evaluation (whole or in parts) at 10; the main thread and the
 * decision threads keep 0. The niceness is read back from /proc/self/task.
 */
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { lowerThreadPriority } from '../../src/policy/thread-priority.js';
import { PolicyWorkers, share } from '../../src/policy/workers.js';
import { LOOPING_WASM, processThreads } from '../helpers/hostile.js';

const linux = process.platform === 'linux' ? false : 'thread priorities are set on Linux only';

t.test('the main thread is never lowered', async (t) => {
  t.equal(lowerThreadPriority(19), undefined);
  t.equal((await processThreads()).find((th) => th.tid === process.pid)?.nice, 0);
});

t.test('a worker thread lowers itself, never raises itself again, and only itself', { skip: linux }, async (t) => {
  const code = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
      .then(({ tsImport }) => tsImport(${JSON.stringify(new URL('../../src/policy/thread-priority.ts', import.meta.url).href)}, ${JSON.stringify(import.meta.url)}))
      .then((m) => parentPort.postMessage({ tid: m.kernelThreadId(), first: m.lowerThreadPriority(10), second: m.lowerThreadPriority(19), third: m.lowerThreadPriority(5) }));
    setInterval(() => {}, 1000);`;
  const worker = new Worker(code, { eval: true });
  t.teardown(() => worker.terminate());
  const answer = await new Promise<{ tid: number; first: number; second: number; third: number }>((resolve) => worker.once('message', resolve));
  t.same([answer.first, answer.second, answer.third], [10, 19, 19], 'lowered to 10, then 19, and not raised back to 5');
  const threads = await processThreads();
  t.equal(threads.find((th) => th.tid === answer.tid)?.nice, 19, 'its kernel thread runs at 19');
  t.same(threads.filter((th) => th.tid !== answer.tid).map((th) => th.nice).filter((n) => n !== 0), [], 'every other thread of the process at 0');
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
