import { Type, type Static } from '@sinclair/typebox';
import { readCoverage } from './coverage.js';
import type { FastifyInstance } from 'fastify';
import { auditContext } from '../auth/plugin.js';
import { CATALOG_READERS, RISK_OWNERS } from '../auth/roles.js';
import { paginate } from '../db/pagination.js';
import { equalityFilters, tableRepository, type Entity } from '../db/table-repository.js';
import { patchOf, registerCrudRoutes, type ResourceDefinition } from '../http/crud.js';
import { HttpProblem, notFound, problemResponses } from '../http/problem.js';
import { EntityMeta, IdParams, IsoDateTime, Page, PageQuery, StringEnum, Uuid } from '../http/schemas.js';
import { COLLECTORS } from './collectors/index.js';
import { collectsLess, SOURCE_APPROVERS } from './guard.js';
import type { Knex } from 'knex';
import { getRun, importSnapshot, unitProgress, type RunProgress } from './collections.js';
import { diffRuns, listRunItems } from './run-store.js';
import { registerSnapshotImportParser } from './snapshot-import.js';
import { epochSeconds } from '../policy/input.js';

const SERVICE_NAMES = Object.keys(COLLECTORS) as [string, ...string[]];
const Service = StringEnum(SERVICE_NAMES);

const sourceFields = {
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$', examples: ['wealth-prod-us-east-1'] }),
  account_id: Type.String({ pattern: '^[0-9]{12}$' }),
  region: Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$' }),
  role_arn: Type.Optional(Type.Union([Type.String({ pattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$', maxLength: 2048 }), Type.Null()], { description: 'role Custos assumes in the account; null: default credentials' })),
  services: Type.Array(Service, { minItems: 1, uniqueItems: true, description: 'collectors to run' }),
  enabled: Type.Optional(Type.Boolean()),
};
const SourceCreate = Type.Object(sourceFields, { additionalProperties: false });
type SourceCreate = Static<typeof SourceCreate>;
const SourceEntity = Type.Object({ ...EntityMeta, ...sourceFields, role_arn: Type.Union([Type.String(), Type.Null()]), enabled: Type.Boolean() });
type SourceEntity = Static<typeof SourceEntity> & Entity;

/** An AWS account and region to collect from, and which collectors to run there. */
export const sources: ResourceDefinition<SourceEntity, SourceCreate, Partial<SourceCreate>> = {
  name: 'sources',
  singular: 'source',
  tag: 'collection',
  schemas: { entity: SourceEntity, create: SourceCreate, patch: patchOf(SourceCreate), filters: { account_id: sourceFields.account_id, region: sourceFields.region, enabled: Type.Boolean() } },
  roles: { read: CATALOG_READERS, write: RISK_OWNERS },
  repository: tableRepository({
    table: 'sources',
    jsonColumns: ['services'],
    filters: equalityFilters('account_id', 'region', 'enabled'),
  }),
  // Collecting less (disabled, deleted, moved, a collector dropped) is a pending change for a second
  // person; collecting more applies at once.
  guard: {
    update: async (_trx, current, patch) => ({ reasons: collectsLess(current, { ...current, ...patch, enabled: patch.enabled ?? current.enabled }), approvers: SOURCE_APPROVERS }),
    remove: async (_trx, current) => ({ reasons: collectsLess(current, null), approvers: SOURCE_APPROVERS }),
  },
};

const Run = Type.Object({
  id: Uuid,
  status: StringEnum(['queued', 'running', 'complete', 'partial', 'failed']),
  trigger: Type.String(),
  requested_by: Type.String(),
  source_ids: Type.Array(Type.String()),
  since: Type.Union([Type.Integer(), Type.Null()]),
  progress: Type.Object(
    {
      done: Type.Integer({ description: 'units (source × service) collected' }),
      total: Type.Integer({ description: 'units of the run' }),
      running: Type.Integer({ description: 'units being collected now, on any instance' }),
      queued: Type.Integer({ description: 'units not started yet' }),
      retried: Type.Integer({ description: 'units that took more than one attempt (an error, or an instance that stopped holding them)' }),
      failed: Type.Integer({ description: 'units given up after every attempt: each is a gap of the run' }),
      current: Type.Optional(Type.String({ examples: ['wealth-prod-us-east-1/s3'], description: 'some of the units running now' })),
    },
    { description: 'live while the run is queued or running (from its units), final once it finished' },
  ),
  counts: Type.Record(Type.String(), Type.Record(Type.String(), Type.Integer())),
  gaps: Type.Array(Type.String(), { description: 'why the run is partial: operations that failed or are unavailable' }),
  error: Type.Union([Type.String(), Type.Null()]),
  observed_at: Type.Union([IsoDateTime, Type.Null()]),
  created_at: IsoDateTime,
  started_at: Type.Union([IsoDateTime, Type.Null()]),
  finished_at: Type.Union([IsoDateTime, Type.Null()]),
  duration_ms: Type.Union([Type.Number(), Type.Null()]),
});

const Coverage = Type.Array(
  Type.Object({ account: Type.String(), region: Type.String(), service: Type.String({ examples: ['s3'] }), resource_type: Type.String(), complete: Type.Boolean(), reason: Type.Union([Type.String(), Type.Null()]) }),
  { description: 'what the run listed, per account, region, service and resource type, and whether completely (docs/ARCHITECTURE.md, "Coverage and resolution")' },
);

const withDuration = <T extends { started_at: string | null; finished_at: string | null; progress: RunProgress }>(run: T, live?: RunProgress) => ({
  ...run,
  // Runs stored before units (and imports) have only done and total.
  progress: { running: 0, queued: 0, retried: 0, failed: 0, ...(live ?? run.progress) },
  duration_ms: run.started_at && run.finished_at ? Date.parse(run.finished_at) - Date.parse(run.started_at) : null,
});

/** The runs with their live progress while they are queued or running. */
async function withProgress<T extends { id: string; status: string; started_at: string | null; finished_at: string | null; progress: RunProgress }>(db: Knex, runs: T[]) {
  const live = await unitProgress(db, runs.filter((r) => r.status === 'queued' || r.status === 'running').map((r) => r.id));
  return runs.map((run) => withDuration(run, live.get(run.id)));
}

const ItemKind = StringEnum(['resource', 'finding', 'permission', 'setting']);

export default async function sourceRoutes(app: FastifyInstance) {
  registerSnapshotImportParser(app);
  registerCrudRoutes(app, sources);

  app.post('/v1/collections', {
    config: { roles: RISK_OWNERS },
    bodyLimit: 64 * 1024 * 1024,
    schema: {
      tags: ['collection'],
      summary: 'Start a collection run, or import a snapshot',
      description:
        '`{ "sources": [names] }` (all enabled sources when omitted) queues a durable run: 202, then poll GET /v1/collections/:id; an evaluation follows automatically. ' +
        '`{ "source": "file", "snapshot": {...} }` imports a document of the normalised shape (docs/POLICY-INPUT.md): 201 when stored; a malformed one is refused whole (400).',
      body: Type.Object(
        {
          source: Type.Optional(StringEnum(['aws', 'file'], { default: 'aws' })),
          sources: Type.Optional(Type.Array(Type.String({ maxLength: 63 }), { minItems: 1, maxItems: 200, uniqueItems: true })),
          since: Type.Optional(Type.String({ format: 'date-time', description: 'Security Hub: only findings updated since' })),
          snapshot: Type.Optional(Type.Unknown()),
        },
        { additionalProperties: false, examples: [{ sources: ['wealth-prod-us-east-1'] }] },
      ),
      response: { 201: Run, 202: Run, ...problemResponses(400, 401, 403, 409, 413, 503) },
    },
    handler: async (request, reply) => {
      const body = request.body as { source?: 'aws' | 'file'; sources?: string[]; since?: string; snapshot?: unknown };
      const context = auditContext(request);
      if (body.source === 'file') {
        if (body.snapshot === undefined) throw new HttpProblem(400, 'validation-error', 'snapshot: is required with source "file"', [{ location: 'body', field: 'snapshot', message: 'is required with source "file"' }]);
        const run = await importSnapshot(app.db, body.snapshot, { trigger: 'file', context, then: (trx, run) => app.jobs.evaluateRun(run.id, 'collection', context.actor, trx) });
        return reply.code(201).header('location', `/v1/collections/${run.id}`).send(withDuration(run));
      }
      if (body.snapshot !== undefined) throw new HttpProblem(400, 'validation-error', 'snapshot: only with source "file"', [{ location: 'body', field: 'snapshot', message: 'only with source "file"' }]);
      const run = await app.jobs.startCollection({ sourceNames: body.sources, since: body.since ? epochSeconds(body.since) : undefined, trigger: 'api', context });
      return reply.code(202).header('location', `/v1/collections/${run.id}`).send(withDuration(run));
    },
  });

  app.get('/v1/collections', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['collection'],
      summary: 'Collection runs, newest first',
      querystring: Type.Object({ ...PageQuery, status: Type.Optional(StringEnum(['queued', 'running', 'complete', 'partial', 'failed'])) }, { additionalProperties: false }),
      response: { 200: Page(Run), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const { status, ...page } = request.query as { status?: string; limit?: number; cursor?: string };
      const query = app.db('collection_runs').select('*');
      if (status) query.where({ status });
      const result = await paginate<Record<string, unknown> & { id: string; status: string; started_at: string | null; finished_at: string | null; progress: RunProgress }>(query, page, undefined, 'desc');
      return { items: await withProgress(app.db, result.items), next_cursor: result.next_cursor };
    },
  });

  app.get('/v1/collections/:id', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['collection'],
      summary: 'A run: status, progress, per-service counts, duration, gaps, and its coverage',
      params: IdParams,
      response: { 200: Type.Intersect([Run, Type.Object({ coverage: Coverage })]), ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const run = await getRun(app.db, id);
      if (!run) throw notFound('collection run', id);
      const [shown] = await withProgress(app.db, [run]);
      return { ...shown, coverage: await readCoverage(app.db, id) };
    },
  });

  const Item = Type.Object({ kind: Type.String({ examples: ['resource'] }), key: Type.String({ examples: ['AWS::S3::Bucket/wealth-public-site'] }), type: Type.String(), account: Type.String(), region: Type.String(),
    hash: Type.String({ description: "MD5 of the item's data as PostgreSQL prints jsonb: what the evidence digests name (lines `kind|key|hash`)", examples: ['9e107d9d372bb6826bd81d3542a419d6'] }),
    data: Type.Unknown(),
  });
  app.get('/v1/collections/:id/resources', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['collection'],
      summary: 'What a run saw, as it saw it',
      description: 'Resources by default; `kind` selects findings, permissions or settings.',
      params: IdParams,
      querystring: Type.Object(
        { ...PageQuery, kind: Type.Optional(ItemKind), type: Type.Optional(Type.String({ maxLength: 200 })), account: Type.Optional(Type.String({ maxLength: 12 })), region: Type.Optional(Type.String({ maxLength: 30 })) },
        { additionalProperties: false },
      ),
      response: { 200: Page(Item), ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      if (!(await getRun(app.db, id))) throw notFound('collection run', id);
      const query = request.query as { kind?: 'resource' };
      return listRunItems(app.db, id, { ...query, kind: query.kind ?? 'resource' });
    },
  });

  app.get('/v1/collections/:id/diff', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['collection'],
      summary: 'What changed between another run and this one',
      params: IdParams,
      querystring: Type.Object({ ...PageQuery, against: Uuid, kind: Type.Optional(ItemKind), type: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
      response: {
        200: Page(Type.Object({ kind: Type.String({ examples: ['resource'] }), key: Type.String({ examples: ['AWS::S3::Bucket/wealth-public-site'] }), type: Type.String(), change: StringEnum(['added', 'removed', 'changed']) })),
        ...problemResponses(400, 401, 403, 404),
      },
    },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const { against, ...filters } = request.query as { against: string; kind?: 'resource'; type?: string };
      for (const runId of [id, against]) if (!(await getRun(app.db, runId))) throw notFound('collection run', runId);
      return diffRuns(app.db, id, against, filters);
    },
  });
}
