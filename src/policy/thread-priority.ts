import fs from 'node:fs';
import os from 'node:os';

/**
 * Scheduling priority of the policy threads that run background work, so that on a busy machine the
 * event loop (and the decision threads) win the CPU: Linux schedules threads, not processes, and a
 * thread's niceness is its own. An uploaded bundle being inspected may spin until its budget kills
 * the thread (a Wasm loop cannot be interrupted): at 19 it takes about 1.5% of a core the event loop
 * wants (CFS weights 15 against 1024). Whole-estate evaluations, in parts or whole, are background
 * jobs too, but must still progress beside busy decision threads: 10 (weight 110).
 * The main thread lowers a pool thread by its kernel id (src/policy/task-budget.ts).
 */
export const INSPECT_NICE = 19;
export const EVALUATION_NICE = 10;

/** The calling thread's kernel id: /proc/thread-self links to `<pid>/task/<tid>`. Linux only. */
export function kernelThreadId(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  const tid = Number(/\/task\/(\d+)$/.exec(fs.readlinkSync('/proc/thread-self'))?.[1]);
  return Number.isInteger(tid) && tid > 0 ? tid : undefined;
}

/**
 * One thread of this process as the kernel accounts it, from `/proc/self/task/<tid>/stat`: the CPU
 * it has used (utime + stime, reported in USER_HZ ticks of 10 ms on every Linux architecture Node
 * runs on) and its niceness. `undefined` elsewhere, or when the thread has ended.
 */
export function threadStat(tid: number): { cpuMs: number; nice: number } | undefined {
  if (process.platform !== 'linux' || !Number.isInteger(tid) || tid <= 0) return undefined;
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The thread's name, in parentheses, may hold spaces: count the fields after it, from the state
  // (field 3): utime and stime are fields 14 and 15, the niceness field 19.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuMs = (Number(fields[11]) + Number(fields[12])) * 10;
  const nice = Number(fields[16]);
  return Number.isFinite(cpuMs) && Number.isFinite(nice) ? { cpuMs, nice } : undefined;
}

/**
 * Lowers the worker thread `tid` of this process to `nice`. Never the main thread, and never raises
 * a thread (a thread already at `nice` or lower priority is left as it is: raising needs privileges
 * where Custos runs, and would work where it runs as root). Linux only: elsewhere, or when the kernel
 * refuses, nothing changes. Returns the niceness the thread now has, when known.
 */
export function lowerThread(tid: number, nice: number): number | undefined {
  if (tid === process.pid) return undefined;
  const current = threadStat(tid)?.nice;
  if (current === undefined) return undefined;
  if (current >= nice) return current;
  try {
    os.setPriority(tid, nice);
    return nice;
  } catch {
    return current;
  }
}
