import fs from 'node:fs';
import os from 'node:os';
import { isMainThread } from 'node:worker_threads';

/**
 * Scheduling priority of the policy threads that run background work, so that on a busy machine the
 * event loop (and the decision threads) win the CPU: Linux schedules threads, not processes, and a
 * thread's niceness is its own. An uploaded bundle being inspected may spin until its budget kills
 * the thread (a Wasm loop cannot be interrupted): at 19 it takes about 1.5% of a core the event loop
 * wants (CFS weights 15 against 1024). Whole-estate evaluations, in parts or whole, are background
 * jobs too, but must still progress beside busy decision threads: 10 (weight 110).
 */
export const INSPECT_NICE = 19;
export const EVALUATION_NICE = 10;

let current = 0;

/** The calling thread's kernel id: /proc/thread-self links to `<pid>/task/<tid>`. */
export function kernelThreadId(): number | undefined {
  const tid = Number(/\/task\/(\d+)$/.exec(fs.readlinkSync('/proc/thread-self'))?.[1]);
  return Number.isInteger(tid) && tid > 0 ? tid : undefined;
}

/**
 * Lowers the calling worker thread's priority to `nice` (never raises it, which needs privileges,
 * and never touches the main thread). Linux only: elsewhere, or when the kernel refuses, nothing
 * changes and the thread runs as before. Returns the niceness the thread now has, when known.
 */
export function lowerThreadPriority(nice: number): number | undefined {
  if (process.platform !== 'linux' || isMainThread) return undefined;
  if (current >= nice) return current;
  try {
    const tid = kernelThreadId();
    if (tid === undefined || tid === process.pid) return undefined;
    os.setPriority(tid, nice);
    current = nice;
    return current;
  } catch {
    return undefined;
  }
}
