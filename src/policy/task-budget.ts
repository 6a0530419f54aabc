import { lowerThread, threadStat } from './thread-priority.js';

/**
 * The budget of a background policy task (an inspection, an estate evaluation) in a pool thread.
 *
 * The budget is the CPU the thread uses, not the time it waits: the thread runs at a low priority
 * (src/policy/thread-priority.ts), and on a busy machine it may wait for a CPU far longer than it
 * runs. Counting wall time refused a 0.4 s check of a decompression bomb as "took longer than
 * 10000 ms" while three test files shared two cores. A wall-clock bound still ends a task starved
 * for good: `wallBoundMs`.
 */
export interface TaskBudget {
  /** Most CPU the task may use. */
  cpuMs: number;
  /** The background priority the thread is lowered to. */
  nice: number;
  /**
   * CPU the task may use at the normal priority before it is lowered: an upload's check usually needs
   * a fraction of a second (140 ms for Custos's own bundle) and gets it even on a busy machine; a
   * Wasm loop is lowered after it and spins there until `cpuMs`. 0: lowered when the task starts.
   */
  graceCpuMs: number;
  /** The wall-clock bound; default `wallBoundMs(cpuMs)`. */
  wallMs?: number;
}

/** How often a running task's CPU is read (one small /proc read). */
const CHECK_MS = 100;

/**
 * How long a task may take on the wall clock: six times its CPU budget (at niceness 19 a thread may
 * get a few per cent of a contended core), but at most ten minutes more than it, so that an estate
 * evaluation (15 min of CPU) ends before its job expires (30 min, src/jobs/workflows.ts).
 */
export function wallBoundMs(cpuMs: number): number {
  return Math.min(cpuMs * 6, cpuMs + 10 * 60_000);
}

export interface Watch {
  /** Whether the thread was lowered during the task (it is not raised again). */
  readonly lowered: boolean;
  end(): void;
}

/**
 * Watches the task that thread `tid` has just started: lowers the thread once it has used its grace,
 * and calls `stop` with the reason once it has used its CPU budget or reached the wall bound. Where
 * the thread's CPU cannot be read (not Linux, no thread id), the budget is wall time, as before.
 */
export function watchTask(tid: number | undefined, budget: TaskBudget, stop: (reason: string) => void): Watch {
  const startedAt = performance.now();
  const atStart = tid === undefined ? undefined : threadStat(tid);
  let lowered = false;
  let timer: NodeJS.Timeout | undefined;
  const watch: Watch = {
    get lowered() {
      return lowered;
    },
    end: () => clearTimeout(timer),
  };
  if (tid === undefined || atStart === undefined) {
    timer = setTimeout(() => stop(`took longer than ${budget.cpuMs} ms and was stopped`), budget.cpuMs);
    return watch;
  }
  const lower = () => {
    lowerThread(tid, budget.nice);
    lowered = true;
  };
  if (budget.graceCpuMs <= 0) lower();
  const wallMs = budget.wallMs ?? wallBoundMs(budget.cpuMs);
  let used = 0;
  const check = () => {
    // A thread that has ended keeps its last reading: the pool reports why it ended.
    used = Math.max(used, (threadStat(tid)?.cpuMs ?? atStart.cpuMs + used) - atStart.cpuMs);
    const waited = performance.now() - startedAt;
    if (used >= budget.cpuMs) return stop(`took longer than ${budget.cpuMs} ms and was stopped (${Math.round(used)} ms of CPU)`);
    if (waited >= wallMs) return stop(`took longer than ${Math.round(wallMs)} ms and was stopped (waiting for a CPU; ${Math.round(used)} ms of CPU used)`);
    if (!lowered && used >= budget.graceCpuMs) lower();
    timer = setTimeout(check, CHECK_MS);
  };
  timer = setTimeout(check, CHECK_MS);
  return watch;
}
