import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import { CATALOG_READERS } from '../auth/roles.js';
import { notFound, problemResponses } from '../http/problem.js';
import { IsoDate, IsoDateTime, PageQuery, StringEnum, Nullable } from '../http/schemas.js';
import { pageOf } from '../db/pagination.js';
import type { RuleMetadata } from '../policy/engine.js';
import type { Catalog } from './catalog.js';
import { STATUSES, statusOf, type EvaluationSummary as Evaluation } from './status.js';
import { controlTimelines, countsOf, coverageOf, findingCounts } from './timeline.js';
import { registerAttestationRoutes, standingAttestations } from './attestations.js';
import { ControlParams, findControl } from './params.js';
import { PeriodQuery, parsePeriod } from '../http/period.js';


export const ReasonsView = Type.Object(
  {
    failing_rules: Type.Array(Type.Object({ rule_id: Type.String(), open_findings: Type.Integer() })),
    untested_rules: Type.Array(Type.Object({ rule_id: Type.String(), why: Type.String() })),
    passing_rules: Type.Array(Type.String()),
  },
  { description: 'the status rule by rule: failing (with open findings), not tested (and why), passing' },
);

const ControlView = Type.Object({
  id: Type.String({ examples: ['CC6.1'] }),
  title: Type.String({ examples: ['Logical access security'] }),
  description: Type.String({ examples: ['The entity implements logical access security software, infrastructure and architectures over protected information assets.'] }),
  category: Type.String(),
  automation: Type.String(),
  evidence: Type.Array(Type.String()),
  rules: Type.Array(Type.String(), { description: 'rules whose metadata names this control' }),
  status: StringEnum(STATUSES),
  reason: Type.String(),
  reasons: Nullable(ReasonsView),
  coverage: Nullable(StringEnum(['complete', 'partial'], { description: 'partial: some listing its rules read was incomplete (reported beside the status, never instead of it)' })),
  open_findings: Type.Integer({ description: 'findings open when the evaluation ended, reported by it or carried (not seen, so not resolved)' }),
  excepted_findings: Type.Integer({ description: 'findings an approved exception covered in that evaluation: they do not fail the control' }),
  attestation: Nullable(Type.Object({ id: Type.String(), attested_by: Type.String(), attested_at: IsoDateTime, valid_until: IsoDateTime }, { description: 'the newest attestation still standing' })),
  evaluation_id: Nullable(Type.String()),
  evaluated_at: Nullable(IsoDateTime),
  owner: Nullable(Type.String({ description: 'responsible party of the SOC2 compliance record for this control' })),
  last_review_date: Nullable(IsoDate),
  next_review_date: Nullable(IsoDate),
});
export const CoverageView = Type.Object({
  control_id: Type.String(),
  automation: Type.String(),
  from: IsoDateTime,
  to: IsoDateTime,
  days_in_period: Type.Integer(),
  days_tested: Type.Integer(),
  days_passing: Type.Integer(),
  coverage: Type.Number({ description: 'days_tested / days_in_period; 0 for manual controls, which are attested' }),
  days: Type.Array(Type.Object({ date: IsoDate, result: StringEnum(['passing', 'failing', 'partial', 'none']), evaluations: Type.Integer() })),
  gaps: Type.Array(Type.Object({ from: IsoDate, to: IsoDate, days: Type.Integer(), reason: Type.String() })),
});
const FindingRef = Type.Object({ id: Type.String({ examples: ['0190a8d2-7c1e-7000-8000-000000000042'] }), rule_id: Type.String(), severity: Type.String(), resource_type: Type.String(), resource_id: Type.String(), msg: Type.String() });


async function latestEvaluation(db: Knex): Promise<Evaluation | undefined> {
  return db('evaluations').select('id', 'finished_at', 'run_partial', 'bundle_revision', 'rule_coverage').where({ status: 'complete' }).orderBy('finished_at', 'desc').first();
}

/** Control statuses from the latest complete evaluation, with the SOC2 compliance records' review dates. */
export async function controlViews(app: FastifyInstance, catalog: Catalog, rules: RuleMetadata[]) {
  const evaluation = await latestEvaluation(app.db);
  const counts = await findingCounts(app.db, evaluation ? [evaluation.id] : []);
  const records: Array<{ requirement_id: string; responsible_party: string; last_review_date: string | null; next_review_date: string | null }> = await app
    .db('compliance_records')
    .whereIn('regulation', ['SOC2', 'SOC 2'])
    .select('requirement_id', 'responsible_party', 'last_review_date', 'next_review_date');
  const byControl = new Map(records.map((r) => [r.requirement_id, r]));
  const attested = await standingAttestations(app.db);
  return catalog.controls.map((control) => {
    const ruleIds = rules.filter((r) => r.controls.includes(control.id)).map((r) => r.id);
    const { byRule, open, excepted } = countsOf(counts, evaluation?.id, control.id);
    const record = byControl.get(control.id);
    return {
      ...control,
      rules: ruleIds,
      ...statusOf(control, ruleIds, evaluation, byRule, attested.get(control.id)),
      attestation: attested.get(control.id) ?? null,
      open_findings: open,
      excepted_findings: excepted,
      evaluation_id: evaluation?.id ?? null,
      evaluated_at: evaluation?.finished_at ?? null,
      owner: record?.responsible_party ?? null,
      last_review_date: record?.last_review_date ?? null,
      next_review_date: record?.next_review_date ?? null,
    };
  });
}

export default async function controlRoutes(app: FastifyInstance, { catalog }: { catalog: Catalog }) {
  const rules = () => app.policy.rules();
  const controlOf = (id: string) => findControl(catalog, id);

  app.get('/v1/controls', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['controls'],
      summary: `${catalog.framework} controls with their status from the latest evaluation`,
      querystring: Type.Object(
        { ...PageQuery, status: Type.Optional(StringEnum(STATUSES)), category: Type.Optional(Type.String({ maxLength: 100 })), automation: Type.Optional(StringEnum(['automated', 'partial', 'manual'])) },
        { additionalProperties: false },
      ),
      response: { 200: Type.Object({ framework: Type.String(), version: Type.String(), items: Type.Array(ControlView), next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last' }) }), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const { status, category, automation, ...page } = request.query as { status?: string; category?: string; automation?: string; limit?: number; cursor?: string };
      const items = (await controlViews(app, catalog, rules())).filter(
        (c) => (!status || c.status === status) && (!category || c.category === category) && (!automation || c.automation === automation),
      );
      return { framework: catalog.framework, version: catalog.version, ...pageOf(items, page, (c) => c.id) };
    },
  });

  app.get('/v1/controls/:id', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['controls'],
      summary: 'One control: status, the rules that test it, and the open findings that fail it',
      params: ControlParams,
      response: { 200: Type.Intersect([ControlView, Type.Object({ failing_findings: Type.Array(FindingRef) })]), ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request) => {
      const { id } = request.params as { id: string };
      const view = (await controlViews(app, catalog, rules())).find((c) => c.id === id);
      if (!view) throw notFound('control', id);
      const failing =
        view.status === 'failing' && view.evaluation_id
          ? await app
              .db('findings as f')
              .join('evaluation_findings as ef', 'ef.finding_id', 'f.id')
              .where('ef.evaluation_id', view.evaluation_id)
              .whereNull('ef.exception_id')
              .whereRaw('f.controls @> ?::jsonb', [JSON.stringify([id])])
              .select('f.id', 'f.rule_id', 'f.severity', 'f.resource_type', 'f.resource_id', 'f.msg')
              .orderBy('f.id')
              .limit(500)
          : [];
      return { ...view, failing_findings: failing };
    },
  });

  app.get('/v1/controls/:id/history', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['controls'],
      summary: 'A control’s status at each complete evaluation of a period',
      params: ControlParams,
      querystring: Type.Object({ ...PeriodQuery, ...PageQuery }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          control: Type.String(),
          from: IsoDateTime,
          to: IsoDateTime,
          items: Type.Array(
            Type.Object({
              evaluation_id: Type.String(),
              at: IsoDateTime,
              bundle_revision: Type.String(),
              run_partial: Type.Boolean(),
              status: StringEnum(STATUSES),
              reason: Type.String(),
              reasons: Nullable(ReasonsView),
              coverage: Nullable(StringEnum(['complete', 'partial'])),
              open_findings: Type.Integer(),
              excepted_findings: Type.Integer(),
            }),
          ),
          next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last' }),
        }),
        ...problemResponses(400, 401, 403, 404),
      },
    },
    handler: async (request) => {
      const control = controlOf((request.params as { id: string }).id);
      const { limit, cursor, ...query } = request.query as { from?: string; to?: string; limit?: number; cursor?: string };
      const period = parsePeriod(query);
      const timelines = await controlTimelines(app.db, [control], rules(), period);
      return { control: control.id, ...period, ...pageOf(timelines.get(control.id)!, { limit, cursor }, (item) => item.evaluation_id) };
    },
  });

  app.get('/v1/controls/:id/coverage', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['controls'],
      summary: 'Type II coverage: the days of a period a complete evaluation tested the control, and the gaps',
      description: 'A day counts as tested when a complete evaluation (on a complete collection run) finished that day (UTC) and tested the control, whatever the result. Gaps are runs of days with no complete evaluation or only partial collections.',
      params: ControlParams,
      querystring: Type.Object(PeriodQuery, { additionalProperties: false }),
      response: { 200: CoverageView, ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request) => {
      const control = controlOf((request.params as { id: string }).id);
      const period = parsePeriod(request.query as { from?: string; to?: string });
      const timelines = await controlTimelines(app.db, [control], rules(), period);
      return coverageOf(control, timelines.get(control.id)!, period);
    },
  });

  registerAttestationRoutes(app, catalog);
}
