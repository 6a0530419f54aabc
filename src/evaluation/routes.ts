import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CATALOG_READERS, RISK_OWNERS } from '../auth/roles.js';
import { paginate } from '../db/pagination.js';
import { HttpProblem, notFound, problemResponses } from '../http/problem.js';
import { IdParams, IsoDateTime, Page, PageQuery, StringEnum, Uuid, Nullable } from '../http/schemas.js';
import { getFinding, listFindings, type FindingFilters } from './findings-repository.js';


const Evaluation = Type.Object({
  id: Uuid,
  run_id: Uuid,
  status: StringEnum(['queued', 'running', 'complete', 'failed']),
  trigger: Type.String(),
  requested_by: Type.String(),
  bundle_id: Nullable(Type.String()),
  bundle_revision: Nullable(Type.String()),
  catalog_sha256: Nullable(Type.String()),
  run_partial: Nullable(Type.Boolean()),
  rule_coverage: Nullable(
    Type.Record(Type.String(), Type.Object({ tested: Type.Boolean(), partial: Type.Boolean(), why: Type.Optional(Type.String()) }), {
      description: 'per rule: whether this evaluation tested it (complete coverage of at least one resource of its types, or absence is compliance over a complete listing), and why not',
    }),
  ),
  counts: Type.Record(Type.String(), Type.Integer(), {
    description: 'violations, new, reopened, resolved, carried, excepted; items (of the run), evaluated_items (evaluated with the per-resource rules), reused_items and reused_violations (verdicts taken from the previous evaluation), evaluated_account_items (items the account rules were given: incremental, only the accounts where a rule\'s items changed)',
  }),
  mode: Nullable(StringEnum(['whole', 'parts', 'incremental'], { description: 'whole: one input; parts: split by resource and account over every core; incremental: verdicts on unchanged resources reused' })),
  base_evaluation_id: Nullable(Type.String({ format: 'uuid', description: 'the previous evaluation this one compared against: in mode incremental, its verdicts on unchanged items were reused; null: none was usable (first evaluation, an earlier observation, or told not to)' })),
  error: Nullable(Type.String()),
  created_at: IsoDateTime,
  started_at: Nullable(IsoDateTime),
  finished_at: Nullable(IsoDateTime),
});

const Finding = Type.Object({
  id: Uuid,
  rule_id: Type.String(),
  severity: Type.String(),
  controls: Type.Array(Type.String()),
  msg: Type.String(),
  rule_url: Type.String({ description: 'the rule in the active bundle (title, description, remediation): each finding refers to it rather than repeating it' }),
  resource_type: Type.String(),
  resource_id: Type.String(),
  account: Type.String(),
  region: Type.String(),
  status: StringEnum(['open', 'resolved', 'excepted']),
  exception_id: Nullable(Type.String({ format: 'uuid', description: 'the approved exception that covers it (status excepted), or that last covered it' })),
  exception_expired_at: Nullable(Type.String({ format: 'date-time', description: 'when its exception expired or was revoked and it reopened; null while excepted' })),
  first_seen_at: IsoDateTime,
  last_seen_at: IsoDateTime,
  resolved_at: Nullable(IsoDateTime),
  first_evaluation_id: Nullable(Uuid),
  last_evaluation_id: Nullable(Uuid),
});

const findingView = <T extends { rule_id: string }>(finding: T) => ({ ...finding, rule_url: `/v1/policies/${encodeURIComponent(finding.rule_id)}` });

export default async function evaluationRoutes(app: FastifyInstance) {
  app.post('/v1/evaluations', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: ['evaluation'],
      summary: 'Evaluate the active policies over a collection run (default: the latest finished one)',
      description: 'Queued as a durable job: 202, then poll GET /v1/evaluations/:id. Runs also get one automatically after collection.',
      body: Type.Object({ collection_id: Type.Optional(Uuid) }, { additionalProperties: false }),
      response: { 202: Evaluation, ...problemResponses(400, 401, 403, 409) },
    },
    handler: async (request, reply) => {
      let runId = (request.body as { collection_id?: string }).collection_id;
      if (!runId) {
        runId = (await app.db('collection_runs').select('id').whereIn('status', ['complete', 'partial']).orderBy('id', 'desc').first())?.id;
        if (!runId) throw new HttpProblem(409, 'conflict', 'no finished collection run to evaluate: start one with POST /v1/collections');
      }
      const evaluation = await app.jobs.evaluateRun(runId, 'api', request.actor.name);
      return reply.code(202).header('location', `/v1/evaluations/${evaluation.id}`).send(evaluation);
    },
  });

  app.get('/v1/evaluations', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['evaluation'],
      summary: 'Evaluations, newest first',
      querystring: Type.Object({ ...PageQuery, collection_id: Type.Optional(Uuid) }, { additionalProperties: false }),
      response: { 200: Page(Evaluation), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const { collection_id, ...page } = request.query as { collection_id?: string };
      const query = app.db('evaluations').select('*');
      if (collection_id) query.where({ run_id: collection_id });
      return paginate(query, page, undefined, 'desc');
    },
  });

  app.get('/v1/evaluations/:id', {
    config: { roles: CATALOG_READERS },
    schema: { tags: ['evaluation'], summary: 'One evaluation: run, bundle revision, counts', params: IdParams, response: { 200: Evaluation, ...problemResponses(400, 401, 403, 404) } },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const evaluation = await app.db('evaluations').where({ id }).first();
      if (!evaluation) throw notFound('evaluation', id);
      return evaluation;
    },
  });

  app.get('/v1/findings', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['evaluation'],
      summary: 'Findings: what the policies report, with their lifecycle',
      querystring: Type.Object(
        {
          ...PageQuery,
          rule_id: Type.Optional(Type.String({ maxLength: 200 })),
          rule: Type.Optional(Type.String({ maxLength: 200, deprecated: true, description: 'deprecated: rule_id' })),
          severity: Type.Optional(StringEnum(['critical', 'high', 'medium', 'low'])),
          control: Type.Optional(Type.String({ maxLength: 20, description: 'e.g. CC6.1' })),
          resource_id: Type.Optional(Type.String({ maxLength: 2048 })),
          resource: Type.Optional(Type.String({ maxLength: 2048, deprecated: true, description: 'deprecated: resource_id' })),
          resource_type: Type.Optional(Type.String({ maxLength: 200 })),
          status: Type.Optional(StringEnum(['open', 'resolved', 'excepted'])),
          account: Type.Optional(Type.String({ maxLength: 12 })),
          region: Type.Optional(Type.String({ maxLength: 30 })),
          evaluation_id: Type.Optional({ ...Uuid, description: 'findings reported by this evaluation' }),
          evaluation: Type.Optional({ ...Uuid, deprecated: true, description: 'deprecated: evaluation_id' }),
        },
        { additionalProperties: false },
      ),
      response: { 200: Page(Finding), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const page = await listFindings(app.db, request.query as FindingFilters);
      return { ...page, items: page.items.map(findingView) };
    },
  });

  app.get('/v1/findings/:id', {
    config: { roles: CATALOG_READERS },
    schema: { tags: ['evaluation'], summary: 'One finding', params: IdParams, response: { 200: Finding, ...problemResponses(400, 401, 403, 404) } },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const finding = await getFinding(app.db, id);
      if (!finding) throw notFound('finding', id);
      return findingView(finding);
    },
  });
}
