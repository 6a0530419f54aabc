import type { BundleManifest } from './bundle.js';
import { SCOPED_VIOLATIONS } from './entrypoints.js';
import type { Evaluation, Inspection, RuleMetadata } from './wasm.js';
import type { Outcome, SharedBundle, SharedData } from './worker.js';
import { EngineUnavailableError, share, type PolicyWorkers } from './workers.js';

export type { Evaluation, RuleMetadata } from './wasm.js';
export type { Outcome } from './worker.js';
export { EngineUnavailableError } from './workers.js';

/** Most inputs, and most work (the sum of their costs, e.g. columns), in one message to a worker. */
const MESSAGE_INPUTS = 64;
const MESSAGE_COST = 2_000;

let dataVersions = 0;

interface Job {
  input: unknown;
  cost: number;
  resolve: (outcome: Outcome) => void;
}

/**
 * One compiled, checked bundle, as the main thread sees it: its metadata (rules, entrypoints,
 * revision) at hand, its evaluations run by the worker threads of `PolicyWorkers`.
 *
 * - `evaluateMany(entrypoint, inputs, costs)`: the hot path (access decisions). Inputs from every
 *   caller in the same turn of the event loop are grouped into messages of at most 64 inputs and a
 *   cost of 2,000 (a check's cost is its column count), so a busy service sends few messages, a
 *   big batch spreads over every thread, and one message stays far inside the time budget. Never
 *   rejects: an input the engine could not answer has an `{ error }` outcome (callers deny).
 * - `evaluate(entrypoint, input)`: one input alone in its message; throws on failure.
 * - `evaluateLarge(entrypoint, input)`: a whole-estate evaluation in a fresh 2 GiB instance.
 * - `rules()`: the bundle's rule metadata, read once when the bundle was checked.
 *
 * The data document (the bundle's data.json plus `data.custos.runtime`, see src/access/runtime.ts)
 * is shared with the threads as JSON text; `setRuntimeData` replaces it and each thread loads the
 * new version on its next message.
 */
export class PolicyEngine {
  private readonly code: SharedBundle;
  private data: SharedData;
  /** The bundle's data.json alone: compliance evaluations need no catalog or grants. */
  private readonly bundleData: SharedData;
  private readonly pending = new Map<string, Job[]>();
  private flushScheduled = false;

  private constructor(
    private readonly workers: PolicyWorkers,
    private readonly inspection: Omit<Inspection, 'wasm'>,
    wasm: Uint8Array,
  ) {
    this.code = { key: inspection.sha256, wasm: share(wasm) };
    this.bundleData = this.data = PolicyEngine.shareData(inspection.data);
  }

  /** Checks a bundle.tar.gz in a worker (see PolicyWorkers.inspect) and returns it ready to evaluate. */
  static async load(workers: PolicyWorkers, archive: Buffer): Promise<PolicyEngine> {
    return PolicyEngine.fromInspection(workers, await workers.inspect(archive));
  }

  static fromInspection(workers: PolicyWorkers, { wasm, ...inspection }: Inspection): PolicyEngine {
    return new PolicyEngine(workers, inspection, wasm);
  }

  private static shareData(data: unknown): SharedData {
    return { version: ++dataVersions, json: share(Buffer.from(JSON.stringify(data))) };
  }

  get revision(): string {
    return this.inspection.manifest.revision;
  }

  get sha256(): string {
    return this.inspection.sha256;
  }

  get manifest(): BundleManifest {
    return this.inspection.manifest;
  }

  get entrypoints(): string[] {
    return this.inspection.entrypoints;
  }

  /** The rules in the bundle, with the metadata of their # METADATA blocks (a copy: callers may sort or filter it). */
  rules(): RuleMetadata[] {
    return [...this.inspection.rules];
  }

  /** Sets data.custos.runtime beside the bundle's own data, for every later evaluation. */
  setRuntimeData(runtime: unknown): void {
    const bundleData = this.inspection.data;
    const custos = (bundleData.custos ?? {}) as Record<string, unknown>;
    this.data = PolicyEngine.shareData({ ...bundleData, custos: { ...custos, runtime } });
  }

  /** Evaluates one input alone. Throws if the engine fails or overruns its budget: callers fail closed. */
  async evaluate(entrypoint: string, input: unknown): Promise<Evaluation> {
    const [outcome] = await this.workers.evaluate(this.code, this.data, entrypoint, [input]);
    if (!outcome || 'error' in outcome) throw new EngineUnavailableError(outcome?.error ?? 'no answer');
    return outcome;
  }

  /** Evaluates many inputs, grouped with other callers' into few messages. Resolves one outcome per input. */
  evaluateMany(entrypoint: string, inputs: unknown[], costs?: number[]): Promise<Outcome[]> {
    let jobs = this.pending.get(entrypoint);
    if (!jobs) this.pending.set(entrypoint, (jobs = []));
    const queued = jobs;
    const answers = inputs.map((input, i) => new Promise<Outcome>((resolve) => queued.push({ input, cost: Math.max(1, costs?.[i] ?? 1), resolve })));
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return Promise.all(answers);
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const [entrypoint, jobs] of this.pending) {
      this.pending.delete(entrypoint);
      let message: Job[] = [];
      let cost = 0;
      for (const job of jobs) {
        if (message.length > 0 && (message.length >= MESSAGE_INPUTS || cost + job.cost > MESSAGE_COST)) {
          this.send(entrypoint, message);
          message = [];
          cost = 0;
        }
        message.push(job);
        cost += job.cost;
      }
      if (message.length > 0) this.send(entrypoint, message);
    }
  }

  private send(entrypoint: string, jobs: Job[]): void {
    this.workers.evaluate(this.code, this.data, entrypoint, jobs.map((j) => j.input)).then(
      (outcomes) => jobs.forEach((job, i) => job.resolve(outcomes[i] ?? { error: 'no answer' })),
      (error: Error) => jobs.forEach((job) => job.resolve({ error: error.message })),
    );
  }

  /** Whether the bundle has the per-scope entrypoints an estate is evaluated in parts with. */
  get partitionable(): boolean {
    return Object.values(SCOPED_VIOLATIONS).every((e) => this.inspection.entrypoints.includes(e));
  }

  /**
   * Evaluates one part of an estate (its input as JSON text) with each entrypoint, in the estate
   * threads (one per CPU). Throws when the engine cannot answer: callers fail the evaluation.
   */
  evaluatePart(entrypoints: string[], input: Uint8Array): Promise<Evaluation[]> {
    return this.workers.evaluatePart(this.code, this.bundleData, entrypoints, input);
  }

  /** Threads evaluating estate parts at once. */
  get partThreads(): number {
    return this.workers.partThreads;
  }

  /** Evaluates a large input (a whole collection run) in a fresh instance with room to grow. */
  evaluateLarge(entrypoint: string, input: unknown): Promise<Evaluation> {
    return this.workers.evaluateLarge(this.code, this.bundleData, entrypoint, input);
  }
}
