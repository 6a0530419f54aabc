import type { Test } from 'tap';
import { tar } from './bundles.js';

/**
 * A Wasm module whose start function loops forever: `(module (func (loop (br 0))) (start 0))`.
 * Instantiating it never returns, so only terminating its thread stops it.
 */
export const LOOPING_WASM = Buffer.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: one func () -> ()
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x08, 0x01, 0x00, // start section: function 0
  0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, // code: loop { br 0 }
]);

/** The 176-byte bundle: a manifest and the looping module. */
export function loopingBundle(): Promise<Buffer> {
  return tar(new Map([['/.manifest', Buffer.from('{"revision":"loop"}')], ['/policy.wasm', LOOPING_WASM]]));
}

/**
 * Probes GET /healthz every 20 ms while `work` is in flight; returns the slowest probe's latency.
 * The service under test listens on a real port, so a blocked event loop shows as a slow probe.
 */
export async function slowestHealthProbe<T>(address: string, work: Promise<T>): Promise<{ result: T; slowestMs: number; probes: number }> {
  let done = false;
  let slowestMs = 0;
  let probes = 0;
  const probing = (async () => {
    while (!done) {
      const started = performance.now();
      const response = await fetch(`${address}/healthz`);
      await response.arrayBuffer();
      slowestMs = Math.max(slowestMs, performance.now() - started);
      probes++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const result = await work.finally(() => {
    done = true;
  });
  await probing;
  return { result, slowestMs, probes };
}

/** This process's threads now (Linux): kernel id, name, CPU ticks used (user + system) and niceness, from /proc/self/task. */
export async function processThreads(): Promise<Array<{ tid: number; name: string; ticks: number; nice: number }>> {
  const fs = await import('node:fs/promises');
  const threads = [];
  for (const entry of await fs.readdir('/proc/self/task')) {
    const stat = await fs.readFile(`/proc/self/task/${entry}/stat`, 'utf8').catch(() => undefined);
    if (!stat) continue; // ended meanwhile
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    // After the name: state (field 3) ... utime (14), stime (15) ... nice (19).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    threads.push({ tid: Number(entry), name, ticks: Number(fields[11]) + Number(fields[12]), nice: Number(fields[16]) });
  }
  return threads;
}

/**
 * The thread of this process that used the most CPU over `ms` (the one spinning, while a Wasm loop
 * runs), with its niceness; undefined when none used any.
 */
export async function busiestThread(ms = 1000): Promise<{ tid: number; name: string; ticks: number; nice: number } | undefined> {
  const before = new Map((await processThreads()).map((t) => [t.tid, t.ticks]));
  await new Promise((r) => setTimeout(r, ms));
  let busiest: { tid: number; name: string; ticks: number; nice: number } | undefined;
  for (const thread of await processThreads()) {
    const used = thread.ticks - (before.get(thread.tid) ?? thread.ticks);
    if (used > 0 && (!busiest || used > busiest.ticks)) busiest = { ...thread, ticks: used };
  }
  return busiest;
}

/**
 * Keeps every core of the machine busy with `perCore` spinning threads of this process at the normal
 * priority, as parallel test files or busy decision threads do; returns how to stop them.
 */
export async function busyCores(perCore = 2): Promise<() => Promise<void>> {
  const { Worker } = await import('node:worker_threads');
  const os = await import('node:os');
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const code = `const { workerData, parentPort } = require('node:worker_threads'); parentPort.postMessage('spinning'); while (Atomics.load(workerData, 0) === 0) {}`;
  const spinners = Array.from({ length: os.availableParallelism() * perCore }, () => new Worker(code, { eval: true, workerData: flag }));
  await Promise.all(spinners.map((w) => new Promise((r) => w.once('message', r))));
  return async () => {
    Atomics.store(flag, 0, 1);
    await Promise.all(spinners.map((w) => w.terminate()));
  };
}

/**
 * A worker thread of this process (Linux) that either spins or sleeps until the test ends; resolves
 * with its kernel thread id, read in the thread from /proc/thread-self.
 */
export async function threadOfItsOwn(t: Test, work: 'spin' | 'sleep'): Promise<number> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    parentPort.postMessage(Number(/\\/task\\/(\\d+)$/.exec(require('node:fs').readlinkSync('/proc/thread-self'))[1]));
    setTimeout(() => { ${work === 'spin' ? 'for (;;) {}' : 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);'} }, 10);`;
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker(code, { eval: true });
  t.teardown(() => worker.terminate());
  return new Promise<number>((resolve) => worker.once('message', resolve));
}
