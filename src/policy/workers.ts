import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { poolEntry, startThread } from '../threads/thread-entry.js';
import { InvalidBundleError } from './bundle.js';
import { watchTask, type TaskBudget, type Watch } from './task-budget.js';
import { EVALUATION_NICE, INSPECT_NICE } from './thread-priority.js';
import type { Evaluation, Inspection } from './wasm.js';
import type { DecisionRequest } from './decision-thread.js';
import type { InspectOutcome, Outcome, SharedBundle, SharedData, Task, TaskBody } from './worker.js';

/** The engine could not answer in time or at all (overrun, full queue, dead thread): callers fail closed. */
export class EngineUnavailableError extends Error {}

export interface PolicyWorkerOptions {
  /** Threads evaluating decisions; default: one per CPU but one (for the event loop), at least one. */
  threads?: number;
  /** Most time one message of decisions may run; beyond it the thread is replaced and its decisions fail. */
  budgetMs?: number;
  /** Most CPU reading, compiling and test-evaluating an uploaded bundle may use (src/policy/task-budget.ts). */
  inspectMs?: number;
  /** Most CPU one whole-estate compliance evaluation may use. */
  largeMs?: number;
}

export const DEFAULT_BUDGET_MS = 2_000;
const DEFAULT_INSPECT_MS = 10_000;
const DEFAULT_LARGE_MS = 15 * 60_000;
// An uploaded bundle is untrusted until inspected: its thread gets a small heap (a data.json bomb
// dies there, not in the service); Wasm memory is bounded separately (src/policy/wasm.ts).
const INSPECT_LIMITS = { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 };
/** CPU an inspection uses at the normal priority before it is lowered (src/policy/task-budget.ts). */
const INSPECT_GRACE_MS = 1_000;

/** Node 20 has Atomics.waitAsync; TypeScript's ES2022 library does not declare it. */
interface AtomicsWaitAsync {
  waitAsync(array: Int32Array, index: number, value: number): { async: true; value: Promise<string> } | { async: false; value: string };
}

// tsx and tap run the TypeScript sources; the build runs dist/*.js.
const here = fileURLToPath(import.meta.url);
const WORKER = path.join(path.dirname(here), `worker${path.extname(here)}`);
const DECISION_THREAD = path.join(path.dirname(here), `decision-thread${path.extname(here)}`);
/** Most groups of decisions waiting or running at once; beyond, decisions fail (callers deny). */
const MAX_QUEUED_GROUPS = 10_000;

interface Group {
  id: number;
  request: DecisionRequest;
  resolve: (outcomes: Outcome[]) => void;
  reject: (error: Error) => void;
}
interface Thread {
  worker: Worker;
  ready: boolean;
  /** Terminated or failed: takes no more groups (its replacement may still be starting). */
  dead: boolean;
  /** Posted and not answered yet, in the order the thread runs them: the first is running. */
  groups: Map<number, Group>;
  /** When the first group started (or the thread became ready for it), for its budget. */
  startedAt: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The access and one-off decisions' threads: a fixed set of plain worker threads
 * (src/policy/decision-thread.ts), one postMessage each way per group of inputs. piscina did the
 * same with an AsyncResource, an AbortController, a SharedArrayBuffer start flag and a timer per
 * task; on the access decision path that bookkeeping cost the event loop more than the message
 * itself (docs/ARCHITECTURE.md, Access decisions).
 *
 * A thread runs its groups in order. The budget applies to the running group, from when the
 * thread started it (or became ready for it): one timer per busy thread, armed when it becomes
 * busy and cleared when it becomes idle, re-armed when it fires early. A group still running at
 * the end of its budget makes the thread be terminated (the only way to stop a Wasm loop): that
 * group fails, a new thread takes its place and the groups queued behind it.
 */
class DecisionThreads {
  private readonly threads: Thread[] = [];
  private nextId = 0;
  private queued = 0;
  private closed = false;

  constructor(
    private readonly count: number,
    private readonly budgetMs: number,
  ) {
    for (let i = 0; i < count; i++) this.threads.push(this.start([]));
  }

  private start(carried: Group[]): Thread {
    const thread: Thread = { worker: startThread(DECISION_THREAD), ready: false, dead: false, groups: new Map(), startedAt: 0, timer: undefined };
    thread.worker.on('message', (message: { ready: true } | { id: number; outcomes: Outcome[] }) => {
      if ('ready' in message) {
        thread.ready = true;
        if (thread.groups.size > 0) this.busy(thread);
        return;
      }
      const group = thread.groups.get(message.id);
      if (!group) return;
      thread.groups.delete(message.id);
      this.queued--;
      if (thread.groups.size === 0) this.idle(thread);
      else thread.startedAt = performance.now();
      group.resolve(message.outcomes);
    });
    // Whatever ends a thread unasked (out of memory, a crash) fails what it held and replaces it.
    thread.worker.on('error', (error) =>
      this.replace(thread, (error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'policy evaluation ran out of memory and was stopped' : `policy evaluation failed: ${String(error.message).slice(0, 300)}`),
    );
    thread.worker.on('exit', () => this.replace(thread, 'the policy thread stopped'));
    thread.worker.unref();
    for (const group of carried) this.post(thread, group);
    return thread;
  }

  private busy(thread: Thread): void {
    thread.startedAt = performance.now();
    if (!thread.timer) this.arm(thread, this.budgetMs);
  }

  /** An idle thread does not keep the process alive; a busy one does (its callers are waiting). */
  private idle(thread: Thread): void {
    clearTimeout(thread.timer);
    thread.timer = undefined;
    thread.worker.unref();
  }

  private arm(thread: Thread, ms: number): void {
    thread.timer = setTimeout(() => {
      thread.timer = undefined;
      if (thread.groups.size === 0) return;
      const elapsed = performance.now() - thread.startedAt;
      if (elapsed >= this.budgetMs) this.replace(thread, `policy evaluation took longer than ${this.budgetMs} ms and was stopped`);
      else this.arm(thread, this.budgetMs - elapsed);
    }, Math.max(1, ms));
  }

  /** Fails the running group, terminates the thread and starts another with the groups queued behind. */
  private replace(thread: Thread, why: string): void {
    const index = this.threads.indexOf(thread);
    if (thread.dead || index < 0) return; // already replaced
    thread.dead = true;
    this.idle(thread);
    const [running, ...waiting] = thread.groups.values();
    thread.groups.clear();
    thread.worker.removeAllListeners('exit');
    void thread.worker.terminate();
    if (running) {
      this.queued--;
      running.reject(new EngineUnavailableError(why));
    }
    this.queued -= waiting.length;
    if (this.closed || !thread.ready) {
      // A thread that could not even start would fail again at once: what it held fails, and the
      // next one starts a second later rather than in a loop.
      for (const group of waiting) group.reject(new EngineUnavailableError(this.closed ? 'the policy threads are closed' : why));
      if (this.closed) return void this.threads.splice(index, 1);
      setTimeout(() => {
        if (!this.closed && this.threads[index] === thread) this.threads[index] = this.start([]);
      }, 1_000).unref();
      return;
    }
    this.threads[index] = this.start(waiting);
  }

  private post(thread: Thread, group: Group): void {
    this.queued++;
    thread.groups.set(group.id, group);
    if (thread.groups.size === 1) thread.worker.ref();
    thread.worker.postMessage(group.request);
    if (thread.ready && thread.groups.size === 1) this.busy(thread);
  }

  evaluate(bundle: SharedBundle, data: SharedData, entrypoint: string, inputs: unknown[]): Promise<Outcome[]> {
    if (this.closed) return Promise.reject(new EngineUnavailableError('the policy threads are closed'));
    if (this.queued >= MAX_QUEUED_GROUPS) return Promise.reject(new EngineUnavailableError('policy evaluation failed: too many decisions are waiting'));
    // The thread with the fewest groups (a ready one first): a busy service spreads over all.
    let best: Thread | undefined;
    for (const thread of this.threads) {
      if (thread.dead) continue;
      if (!best || (thread.ready && !best.ready) || (thread.ready === best.ready && thread.groups.size < best.groups.size)) best = thread;
    }
    if (!best) return Promise.reject(new EngineUnavailableError('policy evaluation failed: the policy threads are restarting'));
    const chosen = best;
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.post(chosen, { id, request: { id, bundle, data, entrypoint, inputs }, resolve, reject });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.threads].map((thread) => this.replace(thread, 'the policy threads are closed')));
    this.threads.length = 0;
  }
}

/**
 * The threads that run policy code, so the event loop never does: `decisions` (a fixed pool for
 * access and one-off decisions, each thread with its own instance of the active bundle),
 * `inspector` (uploaded and activated bundles are read, compiled and test-evaluated here, with heap
 * limits) and `large` (whole-estate compliance evaluations). Every task has a time budget; a task
 * still running at its end is aborted, which terminates its thread (a Wasm loop cannot be
 * interrupted any other way) and piscina starts a new one.
 */
export class PolicyWorkers {
  private readonly decisions: DecisionThreads;
  private inspector: Piscina<Task, InspectOutcome>;
  private readonly large: Piscina<Task, Outcome>;
  private readonly parts: Piscina<Task, Outcome[]>;
  /** Threads evaluating the parts of an estate: one per CPU, so an evaluation uses every core. */
  readonly partThreads: number;
  readonly threads: number;
  readonly budgetMs: number;
  private readonly inspectionBudget: TaskBudget;
  private readonly evaluationBudget: TaskBudget;

  constructor(options: PolicyWorkerOptions = {}) {
    const threads = (this.threads = options.threads ?? Math.max(1, os.availableParallelism() - 1));
    this.budgetMs = options.budgetMs ?? DEFAULT_BUDGET_MS;
    this.inspectionBudget = { cpuMs: options.inspectMs ?? DEFAULT_INSPECT_MS, nice: INSPECT_NICE, graceCpuMs: INSPECT_GRACE_MS };
    this.evaluationBudget = { cpuMs: options.largeMs ?? DEFAULT_LARGE_MS, nice: EVALUATION_NICE, graceCpuMs: 0 };
    this.decisions = new DecisionThreads(threads, this.budgetMs);
    this.inspector = inspectorPool();
    // Started when a whole-estate or catalog evaluation needs it and ended after a minute idle: an
    // idle thread kept its isolate (13-20 MiB of the service's resident set, bench:evaluate), and
    // starting one costs such a job 65-85 ms (a background job, not a request).
    this.large = new Piscina({ ...poolEntry(WORKER), minThreads: 0, maxThreads: 1, idleTimeout: 60_000, maxQueue: 100 });
    // Estate parts (src/evaluation/partition.ts): every core while an evaluation runs, one thread kept
    // started so an evaluation does not wait for a thread to load.
    this.partThreads = Math.max(1, os.availableParallelism());
    this.parts = new Piscina({ ...poolEntry(WORKER), minThreads: 1, maxThreads: this.partThreads, idleTimeout: 30_000, maxQueue: 1_000 });
  }

  /**
   * Runs a task with a budget counted from when a thread starts it (the worker flags `started` and
   * gives its kernel thread id), so time spent queued or starting a thread is not charged to it;
   * maxQueue bounds the queue. The budget is the thread's CPU (src/policy/task-budget.ts).
   * `onLowered` runs after a task whose thread was lowered during it.
   */
  private async run<R>(pool: Piscina<Task, R>, task: TaskBody, budget: TaskBudget, what: string, onLowered?: () => void): Promise<R> {
    const started = new Int32Array(new SharedArrayBuffer(8));
    const controller = new AbortController();
    let watch: Watch | undefined;
    let reason = '';
    let finished = false;
    const wait = (Atomics as unknown as AtomicsWaitAsync).waitAsync(started, 0, 0);
    const startWatch = () => {
      // The wait resolves on a later turn of the event loop, possibly after the task has finished:
      // a watch started then would never be ended and would keep the process alive.
      if (finished) return;
      const tid = Atomics.load(started, 1);
      watch = watchTask(tid > 0 ? tid : undefined, budget, (why) => {
        reason = why;
        controller.abort();
      });
    };
    if (wait.async) void wait.value.then(startWatch);
    else startWatch();
    try {
      return await pool.run({ ...task, started } as Task, { signal: controller.signal });
    } catch (error) {
      const e = error as { name?: string; code?: string; message?: string };
      if (controller.signal.aborted) throw new EngineUnavailableError(`${what} ${reason}`);
      if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') throw new EngineUnavailableError(`${what} ran out of memory and was stopped`);
      throw new EngineUnavailableError(`${what} failed: ${String(e.message ?? error).slice(0, 300)}`);
    } finally {
      finished = true;
      watch?.end();
      if (watch?.lowered) onLowered?.();
      // Wakes the waiter if the task never started (queue full, pool closed), so it does not linger.
      Atomics.store(started, 0, 2);
      Atomics.notify(started, 0);
    }
  }

  /** Evaluates several inputs in one message to one thread; the answers come back in order. */
  evaluate(bundle: SharedBundle, data: SharedData, entrypoint: string, inputs: unknown[]): Promise<Outcome[]> {
    return this.decisions.evaluate(bundle, data, entrypoint, inputs);
  }

  /** One whole-estate evaluation in a fresh, large instance. */
  async evaluateLarge(bundle: SharedBundle, data: SharedData, entrypoint: string, input: unknown): Promise<Evaluation> {
    const outcome = await this.run(this.large, { kind: 'evaluate-large', bundle, data, entrypoint, input }, this.evaluationBudget, 'compliance evaluation');
    if ('error' in outcome) throw new EngineUnavailableError(outcome.error);
    return outcome;
  }

  /**
   * One part of an estate evaluation, its input as JSON text, evaluated with each entrypoint; an
   * entrypoint the engine could not answer throws.
   */
  async evaluatePart(bundle: SharedBundle, data: SharedData, entrypoints: string[], input: Uint8Array): Promise<Evaluation[]> {
    const task = { kind: 'evaluate-part', bundle, data, entrypoints, input } as const;
    const outcomes = await this.run(this.parts, task, this.evaluationBudget, 'compliance evaluation');
    for (const outcome of outcomes) if ('error' in outcome) throw new EngineUnavailableError(outcome.error);
    return outcomes as Evaluation[];
  }

  /** Reads, compiles and test-evaluates a bundle.tar.gz off the event loop. Throws InvalidBundleError. */
  async inspect(archive: Buffer): Promise<Inspection> {
    let outcome: InspectOutcome;
    try {
      outcome = await this.run(this.inspector, { kind: 'inspect', archive: new Uint8Array(archive) }, this.inspectionBudget, 'checking the bundle', () => this.replaceInspector());
    } catch (error) {
      // Whatever stopped the check (time, memory) came from the bundle: it is refused, not stored.
      throw new InvalidBundleError((error as Error).message);
    }
    if (!outcome.ok) throw new InvalidBundleError(outcome.reason);
    return outcome.inspection;
  }

  /**
   * A thread lowered during an inspection cannot be raised again: the next upload gets a new thread
   * at the normal priority, with its grace. The old pool ends once its started tasks have.
   */
  private replaceInspector(): void {
    const lowered = this.inspector;
    this.inspector = inspectorPool();
    void lowered.close();
  }

  async close(): Promise<void> {
    await Promise.all([this.decisions.close(), this.inspector.close({ force: true }), this.large.close({ force: true }), this.parts.close({ force: true })]);
  }
}

function inspectorPool(): Piscina<Task, InspectOutcome> {
  return new Piscina({ ...poolEntry(WORKER), minThreads: 0, maxThreads: 1, idleTimeout: 60_000, maxQueue: 100, resourceLimits: INSPECT_LIMITS });
}

/** Copies bytes into memory every worker thread can read without a copy per message. */
export function share(bytes: Uint8Array): SharedArrayBuffer {
  const shared = new SharedArrayBuffer(bytes.byteLength);
  new Uint8Array(shared).set(bytes);
  return shared;
}
