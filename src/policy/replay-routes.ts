import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { OVERSIGHT } from '../auth/roles.js';
import { HttpProblem, conflict, notFound, problemResponses } from '../http/problem.js';
import { IdParams, IsoDateTime, Nullable, StringEnum, Uuid, type Role } from '../http/schemas.js';
import { InvalidBundleError } from './bundle.js';
import { ACCESS_DECISION } from './entrypoints.js';
import { DEFAULT_IMPACT_DECISIONS, MAX_IMPACT_DECISIONS, decisionsImpact, findingsImpact } from './impact.js';
import { piiOfDecision } from './pii.js';
import { replayDecision } from './replay.js';
import { getBundle, getDecision } from './repository.js';

/** Who may replay a decision at all; one whose logged input carries PII only PII_READERS. */
const REPLAYERS: readonly Role[] = ['admin', 'steward', 'compliance_officer', 'auditor'];
const PII_READERS: readonly Role[] = ['admin', 'auditor'];

const Difference = Type.Object({
  path: Type.String({ description: 'where the results differ: a dotted path; `[]` marks an item of a list (lists compare as sets)' }),
  change: StringEnum(['added', 'removed', 'changed']),
  before: Type.Optional(Type.Unknown({ description: 'the value with the original (replay) or active (impact) bundle; absent when added' })),
  after: Type.Optional(Type.Unknown({ description: 'the value with the active (replay) or candidate (impact) bundle; absent when removed' })),
});

const Side = Type.Object({
  bundle_id: Uuid,
  bundle_revision: Type.String(),
  defined: Type.Boolean(),
  result: Type.Unknown({ description: 'the answer as the route gives it (an access decision: decision, reasons, obligations, grants)' }),
  error: Nullable(Type.String({ description: 'why there is no answer, e.g. the bundle lacks the entrypoint' })),
});

const accessExample = (decision: 'allow' | 'deny') =>
  decision === 'allow'
    ? { decision: 'allow', reasons: [], obligations: { mask: { ssn: { rule: 'ssn_last4', strategy: 'show_last', params: { visible: 4 } } } }, grants: [] }
    : { decision: 'deny', reasons: [{ code: 'no_grant', message: 'no grant covers wealth.clients.ssn', column: 'ssn' }], obligations: { mask: {} }, grants: [] };

const ReplayResult = Type.Object(
  {
    decision_id: Uuid,
    entrypoint: Type.String(),
    at: IsoDateTime,
    logged: Type.Object({ bundle_id: Nullable(Type.String()), bundle_revision: Nullable(Type.String()), defined: Type.Boolean(), result: Type.Unknown(), error: Nullable(Type.String()) }, { description: 'what the decision log holds' }),
    original: Side,
    current: Side,
    changed: Type.Boolean({ description: 'whether the active bundle answers differently from the bundle the decision was made with' }),
    differences: Type.Array(Difference, { description: 'what differs between `original` and `current` (at most 100)' }),
    differences_truncated: Type.Boolean(),
    reproduces_log: Type.Boolean({ description: 'whether the original bundle, replayed now, gives the logged answer; false when the data it reads (catalog, grants) or its failure then differs' }),
    data: Type.String({ description: 'what both replays read besides the logged input' }),
    pii: Type.Object({ carries_pii: Type.Boolean(), reasons: Type.Array(Type.String()) }, { description: 'whether the logged input carries PII (then only admin and auditor may replay it)' }),
  },
  {
    examples: [
      {
        decision_id: '01936f0e-8a41-7c3e-9d2a-5b7c1e0f4a21',
        entrypoint: ACCESS_DECISION,
        at: '2026-11-18T09:30:00.000Z',
        logged: { bundle_id: '01936f0e-0000-7000-8000-000000000001', bundle_revision: 'rego-4f1c9a7e2b3d5c60', defined: true, result: accessExample('allow'), error: null },
        original: { bundle_id: '01936f0e-0000-7000-8000-000000000001', bundle_revision: 'rego-4f1c9a7e2b3d5c60', defined: true, result: accessExample('allow'), error: null },
        current: { bundle_id: '01936f0e-0000-7000-8000-000000000002', bundle_revision: 'rego-9e0d1c2b3a495867', defined: true, result: accessExample('deny'), error: null },
        changed: true,
        differences: [
          { path: 'decision', change: 'changed', before: 'allow', after: 'deny' },
          { path: 'reasons[]', change: 'added', after: { code: 'no_grant', message: 'no grant covers wealth.clients.ssn', column: 'ssn' } },
          { path: 'obligations.mask.ssn', change: 'removed', before: { rule: 'ssn_last4', strategy: 'show_last', params: { visible: 4 } } },
        ],
        differences_truncated: false,
        reproduces_log: true,
        data: 'the catalog, principals and grants as they are now (the log keeps the check, not the data it was decided with)',
        pii: { carries_pii: true, reasons: ['column glue/wealth/clients.ssn has PII type ssn'] },
      },
    ],
  },
);

const ImpactFinding = Type.Object({
  rule_id: Type.String(),
  severity: Type.String(),
  msg: Type.String(),
  resource: Type.Object({ type: Type.String(), id: Type.String(), account: Type.String(), region: Type.String() }),
  finding_id: Nullable(Uuid),
  finding_status: Nullable(Type.String()),
});
const DecisionSummary = Type.Object({ defined: Type.Boolean(), decision: Nullable(Type.String({ description: 'allow or deny, for access decisions' })), error: Nullable(Type.String()) });
const DecisionChange = Type.Object({ id: Uuid, at: IsoDateTime, entrypoint: Type.String(), baseline: DecisionSummary, candidate: DecisionSummary, differences: Type.Array(Difference, { description: 'at most 10' }) });
const Skipped = Type.Object({ id: Uuid, reason: Type.String() });

const ImpactBody = Type.Object(
  {
    decisions: Type.Optional(
      Type.Integer({ minimum: 0, maximum: MAX_IMPACT_DECISIONS, default: DEFAULT_IMPACT_DECISIONS, description: `how many of the latest logged decisions to evaluate (default ${DEFAULT_IMPACT_DECISIONS}, at most ${MAX_IMPACT_DECISIONS})` }),
    ),
  },
  { additionalProperties: false, examples: [{ decisions: 1000 }] },
);

const ImpactResult = Type.Object(
  {
    bundle: Type.Object({ id: Uuid, revision: Type.String() }, { description: 'the candidate' }),
    baseline: Type.Object({ id: Uuid, revision: Type.String() }, { description: 'the active bundle it is compared with' }),
    findings: Type.Object({
      status: StringEnum(['tested', 'not_tested'], { description: 'not_tested: no complete collection run (or its evaluation failed); never read as "no change"' }),
      reason: Nullable(Type.String()),
      collection_id: Nullable(Uuid),
      observed_at: Nullable(IsoDateTime),
      counts: Type.Object({ would_appear: Type.Integer(), would_disappear: Type.Integer(), unchanged: Type.Integer() }),
      would_appear: Type.Array(ImpactFinding, { description: 'at most 500; counts are complete' }),
      would_disappear: Type.Array(ImpactFinding, { description: 'at most 500; counts are complete' }),
      truncated: Type.Boolean(),
    }),
    decisions: Type.Object({
      requested: Type.Integer(),
      evaluated: Type.Integer(),
      counts: Type.Object({ flipped: Type.Integer(), changed: Type.Integer(), unchanged: Type.Integer(), skipped: Type.Integer(), failed: Type.Integer() }),
      flipped: Type.Array(DecisionChange, { description: 'access decisions whose allow/deny would change, other decisions whose result would change (at most 500)' }),
      changed: Type.Array(DecisionChange, { description: 'access decisions with the same allow/deny but other obligations, reasons or grants (at most 500)' }),
      skipped: Type.Array(Skipped, { description: 'not evaluated: the logged input is incomplete' }),
      failed: Type.Array(Skipped, { description: 'not evaluated: the policy engine could not answer' }),
      truncated: Type.Boolean(),
    }),
  },
  {
    examples: [
      {
        bundle: { id: '01936f0e-0000-7000-8000-000000000002', revision: 'rego-9e0d1c2b3a495867' },
        baseline: { id: '01936f0e-0000-7000-8000-000000000001', revision: 'rego-4f1c9a7e2b3d5c60' },
        findings: {
          status: 'tested',
          reason: null,
          collection_id: '01936f0d-1111-7000-8000-000000000003',
          observed_at: '2026-11-18T06:00:00.000Z',
          counts: { would_appear: 0, would_disappear: 1, unchanged: 9 },
          would_appear: [],
          would_disappear: [
            {
              rule_id: 's3.bucket_public_read',
              severity: 'critical',
              msg: 'bucket wealth-client-documents is readable by anyone through its ACL',
              resource: { type: 'AWS::S3::Bucket', id: 'wealth-client-documents', account: '111122223333', region: 'us-east-1' },
              finding_id: '01936f0d-2222-7000-8000-000000000004',
              finding_status: 'open',
            },
          ],
          truncated: false,
        },
        decisions: {
          requested: 1000,
          evaluated: 312,
          counts: { flipped: 1, changed: 0, unchanged: 311, skipped: 0, failed: 0 },
          flipped: [
            {
              id: '01936f0e-8a41-7c3e-9d2a-5b7c1e0f4a21',
              at: '2026-11-18T09:30:00.000Z',
              entrypoint: 'custos/compliance/violations',
              baseline: { defined: true, decision: null, error: null },
              candidate: { defined: true, decision: null, error: null },
              differences: [{ path: '[]', change: 'removed', before: { id: 's3.bucket_public_read', resource: { id: 'wealth-client-documents' } } }],
            },
          ],
          changed: [],
          skipped: [],
          failed: [],
          truncated: false,
        },
      },
    ],
  },
);

const dataRead = (entrypoint: string) =>
  entrypoint === ACCESS_DECISION
    ? 'the catalog, principals and grants as they are now (the log keeps the check, not the data it was decided with)'
    : "the logged input and each bundle's own data (data.custos.runtime, which compliance rules do not read, is today's)";

export default async function decisionReplayRoutes(app: FastifyInstance) {
  app.post('/v1/decisions/:id/replay', {
    config: { roles: REPLAYERS },
    schema: {
      tags: ['policy'],
      summary: 'Replay a logged decision with the bundle it was made with and with the active bundle',
      description:
        'Policy decisions (POST /v1/decisions) and access decisions alike. Both results, `changed`, and what differs. ' +
        'A decision whose logged input carries PII (restricted or confidential columns, PII types, masking obligations, free-form context) is replayed only for admins and auditors (403 otherwise). ' +
        '422 /problems/not-replayable when the bundle it was made with is no longer stored or loadable, or its logged input is incomplete; 503 when the engine cannot answer now.',
      params: IdParams,
      body: Type.Object({}, { additionalProperties: false, examples: [{}] }),
      response: { 200: ReplayResult, ...problemResponses(400, 401, 403, 404, 422, 503) },
    },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const decision = await getDecision(app.db, id);
      if (!decision) throw notFound('decision', id);
      const pii = await piiOfDecision(app.db, decision);
      if (pii.carries_pii && !PII_READERS.includes(request.actor.role)) {
        throw new HttpProblem(403, 'forbidden', `decision ${id} was logged with input that carries PII (${pii.reasons.slice(0, 3).join('; ')}); only admins and auditors may replay it`);
      }
      const replay = await replayDecision(app.db, app.policy, decision);
      return {
        decision_id: decision.id,
        entrypoint: decision.entrypoint,
        at: decision.at,
        logged: { bundle_id: decision.bundle_id, bundle_revision: decision.bundle_revision, defined: decision.defined, result: decision.result, error: decision.error },
        ...replay,
        data: dataRead(decision.entrypoint),
        pii,
      };
    },
  });

  // One analysis at a time per instance: each may evaluate the estate twice and 20,000 decisions.
  let analysing = false;
  app.post('/v1/policy-bundles/:id/impact', {
    config: { roles: OVERSIGHT },
    schema: {
      tags: ['policy'],
      summary: 'What activating a stored bundle would change: findings that would appear or disappear, decisions that would flip',
      description:
        'Evaluates the bundle and the active one over the latest complete collection run (findings `not_tested` when there is none) and over the latest `decisions` logged decisions, ' +
        'now and with the same catalog and grants, so every difference is the bundles\'. Nothing is stored or activated. 409 for the active bundle; 503 while another analysis runs on this instance.',
      params: IdParams,
      body: ImpactBody,
      response: { 200: ImpactResult, ...problemResponses(400, 401, 403, 404, 409, 503) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const limit = (request.body as { decisions?: number }).decisions ?? DEFAULT_IMPACT_DECISIONS;
      const record = await getBundle(app.db, id);
      if (!record) throw notFound('policy bundle', id);
      if (record.active) throw conflict(`policy bundle ${record.revision} is the active bundle: impact compares a bundle not yet active with the active one`);
      const { engine: baseline, bundleId: baselineId } = app.policy.current();
      if (analysing) {
        reply.header('retry-after', '30');
        throw new HttpProblem(503, 'policy-engine-unavailable', 'another impact analysis is running on this instance; retry when it ends');
      }
      analysing = true;
      try {
        let candidate;
        try {
          candidate = await app.policy.engineFor(id);
        } catch (error) {
          if (error instanceof InvalidBundleError) throw conflict(`policy bundle ${record.revision} no longer loads: ${error.message}`);
          throw new HttpProblem(503, 'policy-engine-unavailable', `policy bundle ${record.revision} could not be loaded now: ${(error as Error).message}`);
        }
        if (!candidate) throw notFound('policy bundle', id);
        const findings = await findingsImpact(app.db, baseline, candidate);
        const decisions = await decisionsImpact(app.db, app.policy, baseline, candidate, limit);
        return { bundle: { id, revision: candidate.revision }, baseline: { id: baselineId, revision: baseline.revision }, findings, decisions };
      } finally {
        analysing = false;
      }
    },
  });
}
