import { performance } from 'node:perf_hooks';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { auditContext } from '../auth/plugin.js';
import { OVERSIGHT } from '../auth/roles.js';
import { HttpProblem, notFound, problemResponses } from '../http/problem.js';
import { IdParams, IsoDateTime, StringEnum, type Role } from '../http/schemas.js';
import { ACCESS_DECISION } from '../policy/entrypoints.js';
import { DecisionLogWriter } from '../policy/decision-log.js';
import { getDecision } from '../policy/repository.js';
import type { PolicyEngine } from '../policy/engine.js';
import { STORES } from '../catalog/assets.js';
import { checkPrincipalBinding } from './binding.js';

const DECIDERS: readonly Role[] = ['admin', 'pipeline'];
const MAX_BATCH = 1000;
/** Most column checks one batch may ask for: bounds the policy work of one request. */
export const MAX_BATCH_COLUMNS = 10_000;

export const AccessCheck = Type.Object(
  {
    principal: Type.String({ minLength: 1, maxLength: 2048, description: 'IAM role or user ARN' }),
    action: StringEnum(['select', 'insert', 'delete', 'describe']),
    resource: Type.Object(
      {
        store: StringEnum(STORES),
        database: Type.String({ minLength: 1, maxLength: 255 }),
        table: Type.String({ minLength: 1, maxLength: 255 }),
        columns: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 2000, description: 'omitted: every column' })),
      },
      { additionalProperties: false },
    ),
    purpose: Type.String({ minLength: 1, maxLength: 200 }),
    context: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
type AccessCheck = Static<typeof AccessCheck>;

const Reason = Type.Object({ code: Type.String(), message: Type.String(), column: Type.Optional(Type.String()) });
const Mask = Type.Object({ rule: Type.String(), strategy: Type.String(), params: Type.Record(Type.String(), Type.Unknown()) });
const Answer = Type.Object({
  decision: StringEnum(['allow', 'deny']),
  reasons: Type.Array(Reason),
  obligations: Type.Object({ mask: Type.Record(Type.String(), Mask), row_filter: Type.Optional(Type.String()) }),
  grants: Type.Array(Type.String(), { description: 'ids of the grants that applied' }),
  decision_id: Type.Union([Type.String(), Type.Null()], { description: 'null only when the decision could not be logged (it is then a deny)' }),
  bundle_revision: Type.Union([Type.String(), Type.Null()]),
});
type Answer = Static<typeof Answer>;

const deny = (code: string, message: string): Omit<Answer, 'decision_id' | 'bundle_revision'> => ({
  decision: 'deny',
  reasons: [{ code, message }],
  obligations: { mask: {} },
  grants: [],
});

/**
 * Decides a batch of checks from preloaded data, with no database read, in the policy worker
 * threads (never on the event loop). Anything short of a well-formed answer from the active policy
 * is a deny, never an allow.
 */
async function decide(request: FastifyRequest, checks: AccessCheck[], now: number) {
  const policy = request.server.policy;
  let current: ReturnType<typeof policy.current> | undefined;
  try {
    current = policy.current();
  } catch (error) {
    // Why there is no engine (e.g. the active bundle failed to load, naming what it lacks) goes into the reason and the log.
    const why = error instanceof HttpProblem ? error.detail : 'no policy bundle is loaded';
    return { revision: null, bundleId: null, answers: checks.map(() => deny('engine_unavailable', `${why}; access is denied`)) };
  }
  const { engine, bundleId } = current;
  const outcomes = await accessAnswers(policy, engine, checks.map((check) => ({ ...check, now })));
  return { revision: engine.revision, bundleId, answers: outcomes.map((o) => o.answer) };
}

export type AccessAnswer = Omit<Answer, 'decision_id' | 'bundle_revision'>;

/**
 * Evaluates access checks (each with its `now`) with one engine, exactly as a live decision is
 * evaluated: every trouble is a deny. `engineError` marks the answers the engine could not give
 * (a trap, an overrun), as opposed to the policy's own answer; replay and impact (src/policy/replay.ts)
 * use it to say "could not evaluate" rather than report a deny as a result.
 */
export async function accessAnswers(policy: FastifyInstance['policy'], engine: PolicyEngine, inputs: Array<AccessCheck & { now: number }>): Promise<Array<{ answer: AccessAnswer; engineError?: string }>> {
  const unavailable = !engine.entrypoints.includes(ACCESS_DECISION)
    ? deny('no_access_policy', `the active bundle ${engine.revision} has no ${ACCESS_DECISION} entrypoint`)
    : !policy.accessReady
      ? deny('catalog_unavailable', policy.accessDataError ?? 'the catalog and grants are not loaded; access is denied')
      : undefined;
  if (unavailable) return inputs.map(() => ({ answer: unavailable, ...(unavailable.reasons[0]!.code === 'catalog_unavailable' ? { engineError: unavailable.reasons[0]!.message } : {}) }));
  const outcomes = await engine.evaluateMany(
    ACCESS_DECISION,
    inputs,
    inputs.map((check) => checkCost(policy, check)),
  );
  return outcomes.map((outcome) => {
    if ('error' in outcome) return { answer: deny('evaluation_failed', `the policy engine failed (${outcome.error.slice(0, 200)}); access is denied`), engineError: outcome.error };
    const answer = outcome.result as AccessAnswer;
    if (!outcome.defined || (answer?.decision !== 'allow' && answer?.decision !== 'deny')) return { answer: deny('evaluation_failed', 'the policy gave no decision; access is denied') };
    return { answer: { ...answer, obligations: { mask: answer.obligations?.mask ?? {} }, grants: answer.grants ?? [] } };
  });
}

/** The work a check asks for: its columns, or every column of the table when it names none. */
export function checkCost(policy: FastifyInstance['policy'], check: AccessCheck): number {
  const resource = check?.resource;
  if (Array.isArray(resource?.columns)) return resource.columns.length;
  return (typeof resource?.table === 'string' && policy.tableColumnCount(resource)) || 1;
}

/**
 * Refuses a batch asking for more work than one request may (MAX_BATCH_COLUMNS column checks in
 * all), naming the check where the bound is crossed. Runs before schema validation (on the parsed
 * body, whatever its shape), so an oversized batch costs no validation of its many strings either.
 */
function boundBatch(policy: FastifyInstance['policy'], checks: unknown): void {
  if (!Array.isArray(checks)) return; // the schema names that problem
  let total = 0;
  for (const [i, check] of (checks as AccessCheck[]).entries()) {
    total += checkCost(policy, check);
    if (total > MAX_BATCH_COLUMNS) {
      const field = `checks[${i}].resource.columns`;
      const message = `the batch asks about more than ${MAX_BATCH_COLUMNS} columns in all (a check without columns counts every column of its table); split it`;
      throw new HttpProblem(400, 'validation-error', `body.${field} ${message}`, [{ location: 'body', field, message }]);
    }
  }
}

/** Logs decisions in one statement; returns their ids, or null if the log is unavailable. */
async function logDecisions(request: FastifyRequest, checks: AccessCheck[], now: number, decided: Awaited<ReturnType<typeof decide>>, started: number): Promise<string[] | null> {
  const context = auditContext(request);
  const duration = (performance.now() - started) / Math.max(1, checks.length);
  const rows = checks.map((check, i) => ({
    id: uuidv7(),
    entrypoint: ACCESS_DECISION,
    input: JSON.stringify({ ...check, now }),
    result: JSON.stringify(decided.answers[i]),
    defined: true,
    error: decided.answers[i]!.reasons[0]?.code.endsWith('_unavailable') || decided.answers[i]!.reasons[0]?.code === 'evaluation_failed' ? decided.answers[i]!.reasons[0]!.message : null,
    bundle_id: decided.bundleId,
    bundle_revision: decided.revision,
    actor: context.actor,
    actor_key_id: context.actorKeyId,
    role: context.role,
    request_id: context.requestId ?? null,
    duration_ms: duration,
  }));
  try {
    await decisionLog(request.server).write(rows);
    // Counted in memory for the denied-access alert metrics (flushed every few seconds, off this path).
    request.server.alerts?.decisions.count(checks, decided.answers);
    return rows.map((r) => r.id);
  } catch (error) {
    request.log.error({ err: error }, 'decision log unavailable');
    return null;
  }
}

// One writer per database, whichever plugin context asks (a route's request.server is its own
// encapsulated instance, not the root app).
const writers = new WeakMap<FastifyInstance['db'], DecisionLogWriter>();
/** The decision log writer of this app's database. */
export const decisionLog = (app: FastifyInstance) => {
  let writer = writers.get(app.db);
  if (!writer) writers.set(app.db, (writer = new DecisionLogWriter(app.db)));
  return writer;
};

export default async function accessDecisionRoutes(app: FastifyInstance) {
  app.post('/v1/access/decisions', {
    config: { roles: DECIDERS },
    schema: {
      tags: ['access'],
      summary: 'May this principal do this to these columns, for this purpose?',
      description: 'Answers allow or deny with reasons and masking obligations, from the active policy and preloaded catalog and grants. Fails closed: any trouble is a deny.',
      body: AccessCheck,
      response: { 200: Answer, ...problemResponses(400, 401, 403, 413) },
    },
    handler: async (request) => {
      const started = performance.now();
      const check = request.body as AccessCheck;
      checkPrincipalBinding(request, [{ principal: check.principal, field: 'principal' }]);
      const now = Math.floor(Date.now() / 1000);
      const decided = await decide(request, [check], now);
      const ids = await logDecisions(request, [check], now, decided, started);
      if (!ids) return { ...deny('decision_log_unavailable', 'the decision could not be recorded; access is denied'), decision_id: null, bundle_revision: decided.revision };
      return { ...decided.answers[0]!, decision_id: ids[0]!, bundle_revision: decided.revision };
    },
  });

  app.post('/v1/access/decisions::batch', {
    config: { roles: DECIDERS },
    // 10,000 columns of 100 characters with their checks fit; more is refused before it is parsed.
    bodyLimit: 2 * 1024 * 1024,
    preValidation: async (request) => boundBatch(request.server.policy, (request.body as { checks?: unknown } | null)?.checks),
    schema: {
      tags: ['access'],
      summary: `Up to ${MAX_BATCH} decisions in one call (503 rather than a partial answer when the engine or log is unavailable)`,
      description: `At most ${MAX_BATCH_COLUMNS} column checks in all (a check without columns counts every column of its table): 400 naming the check beyond the bound.`,
      body: Type.Object({ checks: Type.Array(AccessCheck, { minItems: 1, maxItems: MAX_BATCH }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ results: Type.Array(Answer) }), ...problemResponses(400, 401, 403, 413, 503) },
    },
    handler: async (request) => {
      const started = performance.now();
      const { checks } = request.body as { checks: AccessCheck[] };
      checkPrincipalBinding(request, checks.map((check, i) => ({ principal: check.principal, field: `checks[${i}].principal` })));
      const now = Math.floor(Date.now() / 1000);
      const decided = await decide(request, checks, now);
      const failed = decided.answers.find((a) => ['engine_unavailable', 'no_access_policy', 'catalog_unavailable'].includes(a.reasons[0]?.code ?? ''));
      if (failed) throw new HttpProblem(503, 'policy-engine-unavailable', failed.reasons[0]!.message);
      // An engine failure or overrun on any check: no partial answer.
      const broken = decided.answers.find((a) => a.reasons[0]?.code === 'evaluation_failed');
      if (broken) throw new HttpProblem(503, 'policy-evaluation-failed', broken.reasons[0]!.message);
      const ids = await logDecisions(request, checks, now, decided, started);
      if (!ids) throw new HttpProblem(503, 'decision-log-unavailable', 'the decisions could not be recorded; none is given');
      return { results: decided.answers.map((answer, i) => ({ ...answer, decision_id: ids[i]!, bundle_revision: decided.revision })) };
    },
  });

  app.get('/v1/access/decisions/:id', {
    config: { roles: [...OVERSIGHT, 'pipeline'] },
    schema: {
      tags: ['access'],
      summary: 'Explain a past access decision: its input, reasons, obligations, the grants and revision that applied',
      description: 'A pipeline key reads only the decisions it asked for (others are 404 to it); oversight roles read all.',
      params: IdParams,
      response: {
        200: Type.Object({ id: Type.String({ examples: ['0190a8d2-7c1e-7000-8000-0000000000ff'] }), at: IsoDateTime, input: Type.Unknown(), result: Answer, bundle_revision: Type.Union([Type.String(), Type.Null()]), actor: Type.String(), request_id: Type.Union([Type.String(), Type.Null()]) }),
        ...problemResponses(400, 401, 403, 404),
      },
    },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const decision = await getDecision(app.db, id);
      if (!decision || decision.entrypoint !== ACCESS_DECISION) throw notFound('access decision', id);
      // A pipeline learns nothing about other callers' decisions, not even that they exist.
      if (request.actor.role === 'pipeline' && decision.actor_key_id !== request.actor.keyId) throw notFound('access decision', id);
      return { id: decision.id, at: decision.at, input: decision.input, result: { ...(decision.result as object), decision_id: decision.id, bundle_revision: decision.bundle_revision }, bundle_revision: decision.bundle_revision, actor: decision.actor, request_id: decision.request_id };
    },
  });
}
