import type { ErrorObject } from 'ajv';
import type { Knex } from 'knex';
import { AccessCheck, accessAnswers } from '../access/decisions.js';
import { HttpProblem } from '../http/problem.js';
import { fieldErrors, validatorCompiler } from '../http/validation.js';
import type { PolicyEngine } from './engine.js';
import { ACCESS_DECISION } from './entrypoints.js';
import { diffResults, sameResult, type Difference } from './result-diff.js';
import { complianceAnswer } from '../evaluation/time-bound.js';
import type { DecisionRecord } from './repository.js';
import type { PolicyService } from './service.js';
import { InvalidBundleError } from './bundle.js';

/** A logged decision that cannot be replayed honestly: 422 /problems/not-replayable, with why. */
export const notReplayable = (detail: string) => new HttpProblem(422, 'not-replayable', detail);

/** One engine's answer to a logged input, as the route that made the decision would have given it. */
export interface Answered {
  defined: boolean;
  result: unknown;
  /** Why there is no answer (e.g. the bundle lacks the entrypoint); null when there is one. */
  error: string | null;
  /** Set when the engine itself failed (trap, overrun, catalog not loaded): no answer to compare. */
  engineError?: string;
}

// The same validation a live access check passes (src/access/decisions.ts), compiled once.
const validAccessCheck = validatorCompiler({ schema: AccessCheck, httpPart: 'body', method: 'POST', url: '/v1/access/decisions' }) as unknown as ((value: unknown) => boolean) & { errors?: ErrorObject[] | null };

/**
 * Why a logged input cannot be evaluated again as it was, or undefined when it can. An access
 * decision's input is the check plus the `now` it was decided at (grants expire): without either it
 * would be decided differently for reasons other than the policy.
 */
export function incompleteInput(decision: Pick<DecisionRecord, 'entrypoint' | 'input'>): string | undefined {
  if (decision.entrypoint !== ACCESS_DECISION) return undefined;
  const input = decision.input as Record<string, unknown> | null;
  if (!input || typeof input !== 'object' || Array.isArray(input)) return 'the logged input is not an access check';
  const { now, ...check } = input;
  if (!Number.isInteger(now)) return 'the logged input has no `now` (the time it was decided at), so grant expiry cannot be judged as it was';
  if (!validAccessCheck(check)) {
    const [first] = fieldErrors(validAccessCheck.errors ?? [], 'body');
    return `the logged input is incomplete: ${first?.field ?? '(root)'} ${first?.message ?? 'is invalid'}`;
  }
  return undefined;
}

/** Evaluates a logged input with one engine, the way its route does (access checks fail closed to a deny). */
export async function answer(policy: PolicyService, engine: PolicyEngine, entrypoint: string, input: unknown): Promise<Answered> {
  if (entrypoint === ACCESS_DECISION) {
    const [outcome] = await accessAnswers(policy, engine, [input as never]);
    return { defined: true, result: outcome!.answer, error: null, ...(outcome!.engineError ? { engineError: outcome!.engineError } : {}) };
  }
  if (!engine.entrypoints.includes(entrypoint)) return { defined: false, result: null, error: `bundle ${engine.revision} has no entrypoint ${entrypoint}` };
  const [outcome] = await engine.evaluateMany(entrypoint, [input ?? null]);
  if (!outcome || 'error' in outcome) return { defined: false, result: null, error: outcome?.error ?? 'no answer', engineError: outcome?.error ?? 'no answer' };
  // Answered as the route answers it (violations that hold at the input's now, with their rules).
  return { defined: outcome.defined, result: complianceAnswer(entrypoint, input, outcome.result ?? null, engine.rules()), error: null };
}

/** The part of an answer that a change of policy can change: whether there is one, and what it is. */
const comparable = (a: Pick<Answered, 'defined' | 'result' | 'error'>) => ({ defined: a.defined, result: a.defined ? (a.result ?? null) : null, answered: a.error === null });
export const sameAnswer = (a: Answered, b: Answered) => sameResult(comparable(a), comparable(b));

export interface ReplaySide extends Omit<Answered, 'engineError'> {
  bundle_id: string;
  bundle_revision: string;
}

export interface Replay {
  original: ReplaySide;
  current: ReplaySide;
  changed: boolean;
  differences: Difference[];
  differences_truncated: boolean;
  reproduces_log: boolean;
}

/**
 * Re-evaluates a logged decision with the bundle it was made with and with the active bundle.
 * Throws not-replayable (422) when the original bundle is not stored or no longer loads, or the
 * logged input is incomplete; 503 when the engine cannot answer now (never a guessed result).
 */
export async function replayDecision(db: Knex, policy: PolicyService, decision: DecisionRecord): Promise<Replay> {
  const incomplete = incompleteInput(decision);
  if (incomplete) throw notReplayable(`decision ${decision.id} cannot be replayed: ${incomplete}`);
  const originalId = await originalBundleId(db, decision);
  let originalEngine: PolicyEngine | undefined;
  try {
    originalEngine = await policy.engineFor(originalId);
  } catch (error) {
    if (error instanceof InvalidBundleError) throw notReplayable(`decision ${decision.id} cannot be replayed: its bundle ${decision.bundle_revision} no longer loads (${error.message})`);
    throw new HttpProblem(503, 'policy-engine-unavailable', `the bundle ${decision.bundle_revision} could not be loaded now: ${(error as Error).message}`);
  }
  if (!originalEngine) throw notReplayable(`decision ${decision.id} cannot be replayed: the bundle it was made with (${decision.bundle_revision}) is no longer stored`);
  const { engine: currentEngine, bundleId: currentId } = policy.current();
  const [original, current] = await Promise.all([
    answer(policy, originalEngine, decision.entrypoint, decision.input),
    answer(policy, currentEngine, decision.entrypoint, decision.input),
  ]);
  for (const [side, engine] of [[original, originalEngine], [current, currentEngine]] as const) {
    if (side.engineError) throw new HttpProblem(503, 'policy-evaluation-failed', `the policy engine could not evaluate decision ${decision.id} with bundle ${engine.revision}: ${side.engineError.slice(0, 300)}`);
  }
  const { differences, truncated } = diffResults(original.result, current.result);
  const logged: Answered = { defined: decision.defined, result: decision.result, error: decision.error };
  return {
    original: { bundle_id: originalId, bundle_revision: originalEngine.revision, defined: original.defined, result: original.result, error: original.error },
    current: { bundle_id: currentId, bundle_revision: currentEngine.revision, defined: current.defined, result: current.result, error: current.error },
    changed: !sameAnswer(original, current),
    differences: sameAnswer(original, current) ? [] : differences,
    differences_truncated: truncated,
    reproduces_log: sameAnswer(original, logged),
  };
}

/**
 * The stored bundle a decision was made with: its bundle_id, else (rows logged without one) the only
 * stored bundle of its revision. A decision made while no bundle was loaded has neither.
 */
async function originalBundleId(db: Knex, decision: DecisionRecord): Promise<string> {
  if (decision.bundle_id) return decision.bundle_id;
  if (!decision.bundle_revision) throw notReplayable(`decision ${decision.id} cannot be replayed: it was made while no policy bundle was loaded`);
  const matches: Array<{ id: string }> = await db('policy_bundles').select('id').where({ revision: decision.bundle_revision }).limit(2);
  if (matches.length === 0) throw notReplayable(`decision ${decision.id} cannot be replayed: the bundle it was made with (${decision.bundle_revision}) is no longer stored`);
  if (matches.length > 1) throw notReplayable(`decision ${decision.id} cannot be replayed: it names revision ${decision.bundle_revision} but no bundle id, and several stored bundles have that revision`);
  return matches[0]!.id;
}
