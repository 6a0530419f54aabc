import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { InvalidBundleError } from './bundle.js';
import type { Evaluation, Inspection } from './wasm.js';
import type { InspectOutcome, Outcome, SharedBundle, SharedData, Task, TaskBody } from './worker.js';

/** The engine could not answer in time or at all (overrun, full queue, dead thread): callers fail closed. */
export class EngineUnavailableError extends Error {}

export interface PolicyWorkerOptions {
  /** Threads evaluating decisions; default: one per CPU but one (for the event loop), at least one. */
  threads?: number;
  /** Most time one message of decisions may run; beyond it the thread is replaced and its decisions fail. */
  budgetMs?: number;
  /** Most time reading, compiling and test-evaluating an uploaded bundle may take. */
  inspectMs?: number;
  /** Most time one whole-estate compliance evaluation may take. */
  largeMs?: number;
}

export const DEFAULT_BUDGET_MS = 2_000;
const DEFAULT_INSPECT_MS = 10_000;
const DEFAULT_LARGE_MS = 15 * 60_000;
// An uploaded bundle is untrusted until inspected: its thread gets a small heap (a data.json bomb
// dies there, not in the service); Wasm memory is bounded separately (src/policy/wasm.ts).
const INSPECT_LIMITS = { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 };

/** Node 20 has Atomics.waitAsync; TypeScript's ES2022 library does not declare it. */
interface AtomicsWaitAsync {
  waitAsync(array: Int32Array, index: number, value: number): { async: true; value: Promise<string> } | { async: false; value: string };
}

// tsx and tap run the TypeScript sources; the build runs dist/*.js.
const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), `worker${path.extname(fileURLToPath(import.meta.url))}`);

/**
 * The threads that run policy code, so the event loop never does: `decisions` (a fixed pool for
 * access and one-off decisions, each thread with its own instance of the active bundle),
 * `inspector` (uploaded and activated bundles are read, compiled and test-evaluated here, with heap
 * limits) and `large` (whole-estate compliance evaluations). Every task has a time budget; a task
 * still running at its end is aborted, which terminates its thread (a Wasm loop cannot be
 * interrupted any other way) and piscina starts a new one.
 */
export class PolicyWorkers {
  private readonly decisions: Piscina<Task, Outcome[]>;
  private readonly inspector: Piscina<Task, InspectOutcome>;
  private readonly large: Piscina<Task, Outcome>;
  readonly threads: number;
  readonly budgetMs: number;
  private readonly inspectMs: number;
  private readonly largeMs: number;

  constructor(options: PolicyWorkerOptions = {}) {
    const threads = (this.threads = options.threads ?? Math.max(1, os.availableParallelism() - 1));
    this.budgetMs = options.budgetMs ?? DEFAULT_BUDGET_MS;
    this.inspectMs = options.inspectMs ?? DEFAULT_INSPECT_MS;
    this.largeMs = options.largeMs ?? DEFAULT_LARGE_MS;
    this.decisions = new Piscina({ filename: WORKER, minThreads: threads, maxThreads: threads, idleTimeout: Infinity, maxQueue: 10_000 });
    this.inspector = new Piscina({ filename: WORKER, minThreads: 0, maxThreads: 1, idleTimeout: 60_000, maxQueue: 100, resourceLimits: INSPECT_LIMITS });
    // One thread kept started: an evaluation job does not wait for a thread to load the engine.
    this.large = new Piscina({ filename: WORKER, minThreads: 1, maxThreads: 1, idleTimeout: Infinity, maxQueue: 100 });
  }

  /**
   * Runs a task with a budget counted from when a thread starts it (the worker flags `started`),
   * so time spent queued or starting a thread is not charged to it; maxQueue bounds the queue.
   */
  private async run<R>(pool: Piscina<Task, R>, task: TaskBody, budgetMs: number, what: string): Promise<R> {
    const started = new Int32Array(new SharedArrayBuffer(4));
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const wait = (Atomics as unknown as AtomicsWaitAsync).waitAsync(started, 0, 0);
    const startTimer = () => {
      // The wait resolves on a later turn of the event loop, possibly after the task has finished:
      // a budget timer started then would never be cleared and would keep the process alive.
      if (finished) return;
      timer = setTimeout(() => controller.abort(), budgetMs);
    };
    if (wait.async) void wait.value.then(startTimer);
    else startTimer();
    try {
      return await pool.run({ ...task, started } as Task, { signal: controller.signal });
    } catch (error) {
      const e = error as { name?: string; code?: string; message?: string };
      if (controller.signal.aborted) throw new EngineUnavailableError(`${what} took longer than ${budgetMs} ms and was stopped`);
      if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') throw new EngineUnavailableError(`${what} ran out of memory and was stopped`);
      throw new EngineUnavailableError(`${what} failed: ${String(e.message ?? error).slice(0, 300)}`);
    } finally {
      finished = true;
      clearTimeout(timer);
      // Wakes the waiter if the task never started (queue full, pool closed), so it does not linger.
      Atomics.store(started, 0, 2);
      Atomics.notify(started, 0);
    }
  }

  /** Evaluates several inputs in one message to one thread; the answers come back in order. */
  evaluate(bundle: SharedBundle, data: SharedData, entrypoint: string, inputs: unknown[]): Promise<Outcome[]> {
    return this.run(this.decisions, { kind: 'evaluate', bundle, data, entrypoint, inputs }, this.budgetMs, 'policy evaluation');
  }

  /** One whole-estate evaluation in a fresh, large instance. */
  async evaluateLarge(bundle: SharedBundle, data: SharedData, entrypoint: string, input: unknown): Promise<Evaluation> {
    const outcome = await this.run(this.large, { kind: 'evaluate-large', bundle, data, entrypoint, input }, this.largeMs, 'compliance evaluation');
    if ('error' in outcome) throw new EngineUnavailableError(outcome.error);
    return outcome;
  }

  /** Reads, compiles and test-evaluates a bundle.tar.gz off the event loop. Throws InvalidBundleError. */
  async inspect(archive: Buffer): Promise<Inspection> {
    let outcome: InspectOutcome;
    try {
      outcome = await this.run(this.inspector, { kind: 'inspect', archive: new Uint8Array(archive) }, this.inspectMs, 'checking the bundle');
    } catch (error) {
      // Whatever stopped the check (time, memory) came from the bundle: it is refused, not stored.
      throw new InvalidBundleError((error as Error).message);
    }
    if (!outcome.ok) throw new InvalidBundleError(outcome.reason);
    return outcome.inspection;
  }

  async close(): Promise<void> {
    await Promise.all([this.decisions.close({ force: true }), this.inspector.close({ force: true }), this.large.close({ force: true })]);
  }
}

/** Copies bytes into memory every worker thread can read without a copy per message. */
export function share(bytes: Uint8Array): SharedArrayBuffer {
  const shared = new SharedArrayBuffer(bytes.byteLength);
  new Uint8Array(shared).set(bytes);
  return shared;
}
