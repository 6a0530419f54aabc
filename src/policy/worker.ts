/**
 * Policy code for the threads of src/policy/workers.ts: the piscina tasks (inspecting an uploaded
 * bundle, a whole-estate evaluation) and `evaluateInputs`, which the decision threads
 * (src/policy/decision-thread.ts) run for each group of decisions. A thread keeps one compiled
 * instance per bundle and the data last loaded into it; the main thread shares the bundle's code
 * and the data document through SharedArrayBuffers and sends only their key and version with each
 * task, so a change of catalog is loaded once per thread, not copied into every message.
 */
import type { LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { InvalidBundleError } from './bundle.js';
import { kernelThreadId } from './thread-priority.js';
import { inspectBundle, instantiate, LARGE_MEMORY, toEvaluation, type Evaluation, type Inspection } from './wasm.js';

/** A bundle's policy.wasm, shared with every worker; `key` is the archive's SHA-256. */
export interface SharedBundle {
  key: string;
  wasm: SharedArrayBuffer;
}
/** The whole data document (the bundle's data.json plus data.custos.runtime) as JSON text. */
export interface SharedData {
  version: number;
  json: SharedArrayBuffer;
}

// Decisions go to the decision threads (src/policy/decision-thread.ts), which call evaluateInputs.
export type TaskBody =
  | { kind: 'evaluate-large'; bundle: SharedBundle; data: SharedData; entrypoint: string; input: unknown }
  | { kind: 'evaluate-part'; bundle: SharedBundle; data: SharedData; entrypoints: string[]; input: Uint8Array }
  | { kind: 'inspect'; archive: Uint8Array };
export type Task = TaskBody & {
  /** [0] set to 1 when this thread starts the task (the caller's budget runs from then), [1] its kernel thread id. */
  started: Int32Array;
};

/** One evaluation's outcome: an answer, or why the engine could not give one (the caller fails closed). */
export type Outcome = Evaluation | { error: string };
export type InspectOutcome = { ok: true; inspection: Inspection } | { ok: false; reason: string };

// Instances by bundle key, least recently used first: the active bundle, the previous one while
// callers still hold it, and one more for replay and impact analysis (src/policy/replay.ts), which
// evaluate stored bundles beside the active one without evicting it.
const instances = new Map<string, { module: WebAssembly.Module; policy: LoadedPolicy | undefined; version: number }>();
const KEEP_BUNDLES = 3;

/** The SDK loads data from an ArrayBuffer of JSON text, not from shared memory: one copy per load. */
const copy = (shared: SharedArrayBuffer) => new Uint8Array(shared).slice().buffer;

async function instanceFor(bundle: SharedBundle, data: SharedData): Promise<LoadedPolicy> {
  let entry = instances.get(bundle.key);
  if (entry) {
    // Most recently used last, so eviction drops the bundle idle longest, never the busy active one.
    instances.delete(bundle.key);
    instances.set(bundle.key, entry);
  } else {
    entry = { module: new WebAssembly.Module(new Uint8Array(bundle.wasm).slice()), policy: undefined, version: -1 };
    instances.set(bundle.key, entry);
    while (instances.size > KEEP_BUNDLES) instances.delete(instances.keys().next().value!);
  }
  if (!entry.policy) {
    entry.policy = await instantiate(entry.module);
    entry.version = -1;
  }
  if (entry.version !== data.version) {
    entry.policy.setData(copy(data.json));
    entry.version = data.version;
  }
  return entry.policy;
}

/** Evaluates inputs in order with this thread's instance of the bundle; each gets its outcome. */
export async function evaluateInputs(bundle: SharedBundle, data: SharedData, entrypoint: string, inputs: unknown[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const input of inputs) {
    try {
      const policy = await instanceFor(bundle, data);
      outcomes.push(toEvaluation(policy.evaluate(input, entrypoint)));
    } catch (error) {
      // A trap (e.g. out of memory) leaves the instance in an unknown state: the next input gets a new one.
      const entry = instances.get(bundle.key);
      if (entry) entry.policy = undefined;
      outcomes.push({ error: String((error as { message?: string })?.message ?? error).slice(0, 500) });
    }
  }
  return outcomes;
}

// The instance this thread evaluates estate parts with: one, of the latest bundle, with the data
// version it loaded. Each evaluation starts from the heap as it was after the data was loaded
// (the SDK sets the heap pointer back), so memory is the largest part's, kept for the next part,
// rather than one fresh memory per part left for the garbage collector to find.
let partInstance: { key: string; policy: LoadedPolicy; version: number } | undefined;

/**
 * One part of an estate (src/evaluation/partition.ts): its input as JSON text, evaluated with each
 * entrypoint. A trap (out of memory, say) drops the instance: the next part gets a new one.
 */
async function evaluatePart(task: Extract<Task, { kind: 'evaluate-part' }>): Promise<Outcome[]> {
  if (partInstance?.key !== task.bundle.key) {
    partInstance = undefined;
    const module = new WebAssembly.Module(new Uint8Array(task.bundle.wasm).slice());
    partInstance = { key: task.bundle.key, policy: await instantiate(module, LARGE_MEMORY), version: -1 };
  }
  const instance = partInstance;
  try {
    if (instance.version !== task.data.version) {
      instance.policy.setData(copy(task.data.json));
      instance.version = task.data.version;
    }
    // The SDK reads an ArrayBuffer input as JSON text, without parsing it in JavaScript.
    const input = task.input.buffer.slice(task.input.byteOffset, task.input.byteOffset + task.input.byteLength) as ArrayBuffer;
    return task.entrypoints.map((entrypoint) => toEvaluation(instance.policy.evaluate(input, entrypoint)));
  } catch (error) {
    partInstance = undefined;
    throw error;
  }
}

/** This thread's kernel id (0 where unknown), for the caller's watch of its CPU and priority. */
const threadId = kernelThreadId() ?? 0;

export default async function run(task: Task): Promise<Outcome[] | Outcome | InspectOutcome> {
  // The caller watches this thread's CPU from now, and lowers its priority (src/policy/task-budget.ts).
  Atomics.store(task.started, 1, threadId);
  Atomics.store(task.started, 0, 1);
  Atomics.notify(task.started, 0);
  switch (task.kind) {
    case 'evaluate-part':
      return evaluatePart(task);
    case 'evaluate-large': {
      // A fresh instance with room to grow, dropped after: Wasm memory never shrinks.
      const policy = await instantiate(new Uint8Array(task.bundle.wasm).slice(), LARGE_MEMORY);
      policy.setData(copy(task.data.json));
      return toEvaluation(policy.evaluate(task.input, task.entrypoint));
    }
    case 'inspect':
      try {
        return { ok: true, inspection: await inspectBundle(Buffer.from(task.archive.buffer, task.archive.byteOffset, task.archive.byteLength)) };
      } catch (error) {
        if (error instanceof InvalidBundleError) return { ok: false, reason: error.message };
        throw error;
      }
  }
}
