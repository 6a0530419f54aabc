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
import { STORES } from '../catalog/assets.js';

const DECIDERS: readonly Role[] = ['admin', 'pipeline'];
const MAX_BATCH = 1000;

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
 * Decides a batch of checks: in-process, from preloaded data, with no database read. Anything
 * short of a well-formed answer from the active policy is a deny, never an allow.
 */
function decide(request: FastifyRequest, checks: AccessCheck[], now: number) {
  const policy = request.server.policy;
  let current: ReturnType<typeof policy.current> | undefined;
  try {
    current = policy.current();
  } catch {
    return { revision: null, bundleId: null, answers: checks.map(() => deny('engine_unavailable', 'no policy bundle is loaded; access is denied')) };
  }
  const { engine, bundleId } = current;
  const unavailable = !engine.entrypoints.includes(ACCESS_DECISION)
    ? deny('no_access_policy', `the active bundle ${engine.revision} has no ${ACCESS_DECISION} entrypoint`)
    : !policy.accessReady
      ? deny('catalog_unavailable', policy.accessDataError ?? 'the catalog and grants are not loaded; access is denied')
      : undefined;
  const answers = checks.map((check) => {
    if (unavailable) return unavailable;
    try {
      const { defined, result } = engine.evaluate(ACCESS_DECISION, { ...check, now });
      const answer = result as Omit<Answer, 'decision_id' | 'bundle_revision'>;
      if (!defined || (answer?.decision !== 'allow' && answer?.decision !== 'deny')) return deny('evaluation_failed', 'the policy gave no decision; access is denied');
      return { ...answer, obligations: { mask: answer.obligations?.mask ?? {} }, grants: answer.grants ?? [] };
    } catch (error) {
      return deny('evaluation_failed', `the policy engine failed (${String((error as { message?: string }).message ?? error).slice(0, 200)}); access is denied`);
    }
  });
  return { revision: engine.revision, bundleId, answers };
}

/** Logs decisions in one statement; returns their ids, or null if the log is unavailable. */
async function logDecisions(request: FastifyRequest, checks: AccessCheck[], now: number, decided: ReturnType<typeof decide>, started: number): Promise<string[] | null> {
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

const writers = new WeakMap<FastifyInstance, DecisionLogWriter>();
const decisionLog = (app: FastifyInstance) => {
  let writer = writers.get(app);
  if (!writer) writers.set(app, (writer = new DecisionLogWriter(app.db)));
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
      const now = Math.floor(Date.now() / 1000);
      const decided = decide(request, [check], now);
      const ids = await logDecisions(request, [check], now, decided, started);
      if (!ids) return { ...deny('decision_log_unavailable', 'the decision could not be recorded; access is denied'), decision_id: null, bundle_revision: decided.revision };
      return { ...decided.answers[0]!, decision_id: ids[0]!, bundle_revision: decided.revision };
    },
  });

  app.post('/v1/access/decisions::batch', {
    config: { roles: DECIDERS },
    bodyLimit: 8 * 1024 * 1024,
    schema: {
      tags: ['access'],
      summary: `Up to ${MAX_BATCH} decisions in one call (503 rather than a partial answer when the engine or log is unavailable)`,
      body: Type.Object({ checks: Type.Array(AccessCheck, { minItems: 1, maxItems: MAX_BATCH }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ results: Type.Array(Answer) }), ...problemResponses(400, 401, 403, 413, 503) },
    },
    handler: async (request) => {
      const started = performance.now();
      const { checks } = request.body as { checks: AccessCheck[] };
      const now = Math.floor(Date.now() / 1000);
      const decided = decide(request, checks, now);
      const failed = decided.answers.find((a) => ['engine_unavailable', 'no_access_policy', 'catalog_unavailable'].includes(a.reasons[0]?.code ?? ''));
      if (failed) throw new HttpProblem(503, 'policy-engine-unavailable', failed.reasons[0]!.message);
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
        200: Type.Object({ id: Type.String(), at: IsoDateTime, input: Type.Unknown(), result: Answer, bundle_revision: Type.Union([Type.String(), Type.Null()]), actor: Type.String(), request_id: Type.Union([Type.String(), Type.Null()]) }),
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
