/**
 * A decision thread (see DecisionThreads in src/policy/workers.ts): evaluates the groups of inputs
 * the main thread posts, one group at a time and in order, and posts each group's outcomes back.
 * It says `ready` once loaded, so that the main thread's time budget for a group does not count
 * the thread's own start.
 */
import { parentPort } from 'node:worker_threads';
import { evaluateInputs, type SharedBundle, type SharedData } from './worker.js';

export interface DecisionRequest {
  id: number;
  bundle: SharedBundle;
  data: SharedData;
  entrypoint: string;
  inputs: unknown[];
}

const port = parentPort!;
// One group at a time: a group waits for the one before it (an instance's first use is async).
let previous: Promise<void> = Promise.resolve();
port.on('message', (request: DecisionRequest) => {
  previous = previous.then(async () => {
    const outcomes = await evaluateInputs(request.bundle, request.data, request.entrypoint, request.inputs);
    port.postMessage({ id: request.id, outcomes });
  });
});
port.postMessage({ ready: true });
