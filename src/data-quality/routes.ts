import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CATALOG_READERS } from '../auth/roles.js';
import { auditContext } from '../auth/plugin.js';
import { paginate } from '../db/pagination.js';
import { registerCrudRoutes } from '../http/crud.js';
import { HttpProblem, invalidField, notFound, problemResponses } from '../http/problem.js';
import { IdParams, IsoDateTime, Nullable, Page, PageQuery, StringEnum, Uuid, type Role } from '../http/schemas.js';
import { dataQualityConnections } from './connections.js';
import { createRun, getRun, rulesInScope, type DataQualityRun, type RunScope } from './runs.js';
import { RUN_QUEUE } from './schedule.js';

/** Who may start runs: they only read the stores, and open or resolve findings by the rules' own verdicts. */
const RUNNERS: readonly Role[] = ['admin', 'steward', 'compliance_officer'];

const RUN_STATUSES = ['queued', 'running', 'complete', 'partial', 'failed'] as const;
const RESULT_STATUSES = ['passed', 'failed', 'not_tested', 'error'] as const;

const Result = Type.Object(
  {
    id: Uuid,
    run_id: Uuid,
    rule_id: Uuid,
    rule_type: Type.String(),
    status: StringEnum(RESULT_STATUSES),
    complete: Type.Boolean({ description: 'false when the store saw only a sample (a DynamoDB scan limit); a pass on a sample resolves nothing' }),
    rows_checked: Type.Integer(),
    rows_failing: Type.Integer(),
    ratio: Nullable(Type.Number({ description: 'rows_failing / rows_checked; null for table-level rules (freshness, row_count) and when nothing was checked' })),
    threshold: Type.Number(),
    observed: Type.Record(Type.String(), Type.Unknown()),
    samples: Type.Array(Type.Record(Type.String(), Type.Unknown()), { description: 'keys and values of failing rows, masked by each column\'s masking rule' }),
    error: Nullable(Type.String()),
    duration_ms: Type.Integer(),
    finding_id: Nullable(Uuid),
    started_at: IsoDateTime,
    finished_at: IsoDateTime,
  },
  { title: 'DataQualityResult' },
);

const Run = Type.Object(
  {
    id: Uuid,
    status: StringEnum(RUN_STATUSES),
    trigger: Type.String(),
    requested_by: Type.String(),
    scope: Type.Record(Type.String(), Type.Unknown()),
    rule_ids: Type.Array(Uuid),
    progress: Type.Object({ done: Type.Integer(), total: Type.Integer() }),
    counts: Type.Record(Type.String(), Type.Integer()),
    error: Nullable(Type.String()),
    duration_ms: Nullable(Type.Integer()),
    created_at: IsoDateTime,
    started_at: Nullable(IsoDateTime),
    finished_at: Nullable(IsoDateTime),
    results: Type.Optional(Type.Array(Result)),
  },
  { title: 'DataQualityRun' },
);

const asNumber = <T extends { rows_checked: unknown; rows_failing: unknown }>(r: T) => ({ ...r, rows_checked: Number(r.rows_checked), rows_failing: Number(r.rows_failing) });

function present(run: DataQualityRun) {
  const { rules_done, ...rest } = run;
  return {
    ...rest,
    progress: { done: rules_done, total: run.rule_ids.length },
    duration_ms: run.started_at && run.finished_at ? new Date(run.finished_at).getTime() - new Date(run.started_at).getTime() : null,
  };
}

export default async function dataQualityRoutes(app: FastifyInstance) {
  registerCrudRoutes(app, dataQualityConnections);

  async function start(request: FastifyRequest, scope: RunScope, ruleIds: string[]) {
    // The run and its job in one transaction: never a `queued` run without a job (src/jobs/workflows.ts enqueue).
    const run = await app.db.transaction(async (trx) => {
      const created = await createRun(trx, { ruleIds, scope, trigger: 'api', context: auditContext(request) });
      await app.jobs.enqueue(trx, RUN_QUEUE, created.id, { runId: created.id });
      return created;
    });
    return present(run);
  }

  app.post('/v1/data-quality-rules/:id/run', {
    config: { roles: RUNNERS },
    schema: {
      tags: ['data quality'],
      summary: 'Run one rule now',
      description: 'Queues a durable run (202); poll GET /v1/data-quality-runs/:id for progress and results. The body is `{}`.',
      params: IdParams,
      body: Type.Object({}, { additionalProperties: false }),
      response: { 202: Run, ...problemResponses(400, 401, 403, 404, 409) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const rule = await app.db('data_quality_rules').where({ id }).first('id', 'enabled');
      if (!rule) throw notFound('data quality rule', id);
      if (!rule.enabled) throw new HttpProblem(409, 'conflict', `data quality rule ${id} is disabled; enable it to run it`);
      return reply.code(202).send(await start(request, { rule_id: id }, [id]));
    },
  });

  app.post('/v1/data-quality-runs', {
    config: { roles: RUNNERS },
    schema: {
      tags: ['data quality'],
      summary: 'Run the enabled rules of an asset or a domain',
      description: 'Exactly one of `asset_id`, `domain`. Queues a durable run (202).',
      body: Type.Object(
        { asset_id: Type.Optional(Uuid), domain: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
        { additionalProperties: false, examples: [{ domain: 'Client' }, { asset_id: '0190a8d2-7c1e-7000-8000-000000000001' }] },
      ),
      response: { 202: Run, ...problemResponses(400, 401, 403, 404, 409) },
    },
    handler: async (request, reply) => {
      const body = request.body as { asset_id?: string; domain?: string };
      if ((body.asset_id === undefined) === (body.domain === undefined)) throw invalidField('asset_id', 'give exactly one of asset_id and domain');
      if (body.asset_id && !(await app.db('assets').where({ id: body.asset_id }).first('id'))) throw invalidField('asset_id', `asset ${body.asset_id} does not exist`);
      if (body.domain && !(await app.db('domains').where({ name: body.domain }).first('name'))) throw invalidField('domain', `domain ${body.domain} does not exist`);
      const scope: RunScope = body.asset_id ? { asset_id: body.asset_id } : { domain: body.domain };
      const ruleIds = await rulesInScope(app.db, scope);
      if (ruleIds.length === 0) throw new HttpProblem(409, 'conflict', `no enabled data quality rule in ${body.asset_id ? `asset ${body.asset_id}` : `domain ${body.domain}`}`);
      return reply.code(202).send(await start(request, scope, ruleIds));
    },
  });

  app.get('/v1/data-quality-runs', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['data quality'],
      summary: 'Data quality runs, newest first',
      querystring: Type.Object({ ...PageQuery, status: Type.Optional(StringEnum(RUN_STATUSES)) }, { additionalProperties: false }),
      response: { 200: Page(Run), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const { status, ...page } = request.query as { status?: string; limit?: number; cursor?: string };
      const query = app.db('data_quality_runs').select('*');
      if (status) query.where({ status });
      const result = await paginate<DataQualityRun & Record<string, unknown>>(query, page, undefined, 'desc');
      return { ...result, items: result.items.map(present) };
    },
  });

  app.get('/v1/data-quality-runs/:id', {
    config: { roles: CATALOG_READERS },
    schema: { tags: ['data quality'], summary: 'A run: status, progress, duration and each rule\'s result', params: IdParams, response: { 200: Run, ...problemResponses(400, 401, 403, 404) } },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const run = await getRun(app.db, id);
      if (!run) throw notFound('data quality run', id);
      const results = await app.db('data_quality_results').where({ run_id: id }).orderBy('id');
      return { ...present(run), results: results.map(asNumber) };
    },
  });

  app.get('/v1/data-quality-rules/:id/results', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['data quality'],
      summary: 'A rule\'s results, newest first, with the trend of the page',
      params: IdParams,
      querystring: Type.Object(
        { ...PageQuery, status: Type.Optional(StringEnum(RESULT_STATUSES)), from: Type.Optional(IsoDateTime), to: Type.Optional(IsoDateTime) },
        { additionalProperties: false },
      ),
      response: {
        200: Type.Object({
          items: Type.Array(Result),
          next_cursor: Nullable(Type.String()),
          trend: Type.Object({
            results: Type.Integer(),
            passed: Type.Integer(),
            failed: Type.Integer(),
            not_tested: Type.Integer(),
            error: Type.Integer(),
            oldest_ratio: Nullable(Type.Number()),
            latest_ratio: Nullable(Type.Number()),
            direction: Nullable(StringEnum(['improving', 'worsening', 'steady'])),
          }, { description: 'over the results of this page, oldest to latest' }),
        }),
        ...problemResponses(400, 401, 403, 404),
      },
    },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      if (!(await app.db('data_quality_rules').where({ id }).first('id'))) throw notFound('data quality rule', id);
      const { status, from, to, ...page } = request.query as { status?: string; from?: string; to?: string; limit?: number; cursor?: string };
      const query = app.db('data_quality_results').where({ rule_id: id }).select('*');
      if (status) query.where({ status });
      if (from) query.where('finished_at', '>=', from);
      if (to) query.where('finished_at', '<', to);
      const result = await paginate<Record<string, unknown> & { rows_checked: unknown; rows_failing: unknown; status: string; ratio: number | null }>(query, page, undefined, 'desc');
      const items = result.items.map(asNumber);
      const ratios = items.map((r) => r.ratio).filter((r): r is number => r !== null);
      const latest = ratios[0] ?? null;
      const oldest = ratios.at(-1) ?? null;
      const count = (s: string) => items.filter((r) => r.status === s).length;
      return {
        items,
        next_cursor: result.next_cursor,
        trend: {
          results: items.length,
          passed: count('passed'),
          failed: count('failed'),
          not_tested: count('not_tested'),
          error: count('error'),
          oldest_ratio: oldest,
          latest_ratio: latest,
          direction: latest === null || oldest === null || ratios.length < 2 ? null : latest < oldest ? 'improving' : latest > oldest ? 'worsening' : 'steady',
        },
      };
    },
  });
}
