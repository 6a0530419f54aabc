import { performance } from 'node:perf_hooks';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { auditContext } from '../auth/plugin.js';
import { OVERSIGHT, RISK_OWNERS } from '../auth/roles.js';
import { HttpProblem, notFound, problemResponses } from '../http/problem.js';
import { IdParams, Instant, IsoDateTime, Page, PageQuery, StringEnum, type Role } from '../http/schemas.js';
import { pageOf } from '../db/pagination.js';
import { validatorCompiler } from '../http/validation.js';
import { InvalidBundleError } from './bundle.js';
import { getArchive, getBundle, getDecision, insertDecision, listBundles, listDecisions, findBundleBySha, type BundleRecord } from './repository.js';
import { guardedChange, PendingChange, sendOutcome } from '../changes/index.js';
import { checkPrincipalBinding } from '../access/binding.js';
import { ACCESS_DECISION, RULE_SCOPES } from './entrypoints.js';
import { complianceAnswer } from '../evaluation/time-bound.js';

const MAX_BUNDLE_BYTES = 20 * 1024 * 1024;
const POLICY_READERS: readonly Role[] = ['admin', 'steward', 'compliance_officer', 'auditor'];
/** Anyone but the auditor, who reads and never acts. */
const DECIDERS: readonly Role[] = ['admin', 'steward', 'compliance_officer', 'pipeline'];

const Rule = Type.Object({
  id: Type.String({ examples: ['s3.bucket_public_read'] }),
  title: Type.String({ examples: ['S3 bucket allows public read'] }),
  description: Type.String({ examples: ['A bucket whose ACL or policy lets anyone read objects, unless its public access block neutralises both.'] }),
  severity: Type.String(),
  controls: Type.Array(Type.String()),
  resource_types: Type.Array(Type.String()),
  remediation: Type.String(),
  auto_remediate: Type.Optional(Type.Boolean({ description: 'low-risk remediation may run without approval when CUSTOS_AUTO_REMEDIATE is on' })),
  absence_is_compliance: Type.Optional(Type.Boolean({ description: 'no resource of its types is compliance, where the types were listed completely' })),
  listing_scope: Type.Optional(StringEnum(['region', 'account', 'account_regions', 'resources'], { description: 'the rule concludes from absence: where its listed_types must have been listed completely, else it is not_tested there' })),
  listed_types: Type.Optional(Type.Array(Type.String({ examples: ['AWS::CloudTrail::Trail'] }), { description: 'with listing_scope: the types whose complete listing it needs (default: its resource_types)' })),
  scope: Type.Optional(StringEnum(RULE_SCOPES, { description: 'how its violations depend on the input: an estate is evaluated in parts, and incrementally, by it' })),
  reads: Type.Optional(Type.Array(Type.String({ examples: ['catalog'] }), { description: 'scope resource: the shared parts of the input it reads besides its items (now, catalog, coverage, lf_tag_assignments)' })),
  item_types: Type.Optional(Type.Array(Type.String({ examples: ['AWS::S3::Bucket'] }), { description: 'scope account: the types of the items it reads (absent: every item of its accounts)' })),
  package: Type.String(),
});

const Bundle = Type.Object({
  id: Type.String({ format: 'uuid' }),
  revision: Type.String(),
  sha256: Type.String(),
  size_bytes: Type.Integer(),
  entrypoints: Type.Array(Type.String()),
  rule_count: Type.Integer(),
  uploaded_by: Type.String(),
  uploaded_at: IsoDateTime,
  active: Type.Boolean(),
  activated_at: Type.Union([IsoDateTime, Type.Null()]),
  activated_by: Type.Union([Type.String(), Type.Null()]),
});
const BundleDetail = Type.Intersect([Bundle, Type.Object({ rules: Type.Array(Rule) })]);

const Decision = Type.Object({
  id: Type.String({ format: 'uuid' }),
  at: IsoDateTime,
  entrypoint: Type.String(),
  input: Type.Unknown(),
  result: Type.Unknown(),
  defined: Type.Boolean(),
  error: Type.Union([Type.String(), Type.Null()]),
  bundle_id: Type.Union([Type.String(), Type.Null()]),
  bundle_revision: Type.Union([Type.String(), Type.Null()]),
  actor: Type.String(),
  role: Type.String(),
  request_id: Type.Union([Type.String(), Type.Null()]),
  duration_ms: Type.Number(),
});

const summary = <T extends { rules: unknown[] }>({ rules, ...rest }: T) => ({ ...rest, rule_count: rules.length });

// The upload body is the raw archive: validated as bytes here, and by readBundle for content.
const archiveValidator: FastifySchemaCompiler<unknown> = (route) =>
  route.httpPart === 'body' ? ((data: unknown) => Buffer.isBuffer(data) && data.length > 0) as never : validatorCompiler(route);

export default async function policyRoutes(app: FastifyInstance) {
  app.addContentTypeParser(['application/gzip', 'application/x-gzip', 'application/octet-stream'], { parseAs: 'buffer', bodyLimit: MAX_BUNDLE_BYTES }, (_request, body, done) => done(null, body));

  app.get('/v1/policies', {
    config: { roles: POLICY_READERS },
    schema: {
      tags: ['policy'],
      summary: 'Rules of the active policy bundle, with their metadata',
      querystring: Type.Object(
        { ...PageQuery, severity: Type.Optional(Type.String({ maxLength: 20 })), control: Type.Optional(Type.String({ maxLength: 20 })), resource_type: Type.Optional(Type.String({ maxLength: 100 })) },
        { additionalProperties: false },
      ),
      response: { 200: Type.Object({ bundle_revision: Type.String(), items: Type.Array(Rule), next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last' }) }), ...problemResponses(400, 401, 403, 503) },
    },
    handler: async (request) => {
      const { engine } = app.policy.current();
      const { severity, control, resource_type, limit, cursor } = request.query as Record<string, string | undefined> & { limit?: number };
      const items = engine
        .rules()
        .filter((r) => (!severity || r.severity === severity) && (!control || r.controls.includes(control)) && (!resource_type || r.resource_types.includes(resource_type)));
      return { bundle_revision: engine.revision, ...pageOf(items, { limit, cursor }, (r) => r.id) };
    },
  });

  app.get('/v1/policies/:id', {
    config: { roles: POLICY_READERS },
    schema: {
      tags: ['policy'],
      summary: 'One rule of the active policy bundle, with its metadata (what findings refer to)',
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200, examples: ['s3.bucket_public_read'] }) }, { additionalProperties: false }),
      response: { 200: Type.Intersect([Rule, Type.Object({ bundle_revision: Type.String() })]), ...problemResponses(400, 401, 403, 404, 503) },
    },
    handler: async (request) => {
      const { engine } = app.policy.current();
      const { id } = request.params as { id: string };
      const rule = engine.rules().find((r) => r.id === id);
      if (!rule) throw notFound('rule', id);
      return { ...rule, bundle_revision: engine.revision };
    },
  });

  app.get('/v1/policy-bundles', {
    config: { roles: POLICY_READERS },
    schema: {
      tags: ['policy'],
      summary: 'Stored policy bundles, newest first',
      querystring: Type.Object({ ...PageQuery, revision: Type.Optional(Type.String({ maxLength: 200 })), active: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      response: { 200: Page(Bundle), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const page = await listBundles(app.db, request.query as never);
      return { items: page.items.map(summary), next_cursor: page.next_cursor };
    },
  });

  app.get('/v1/policy-bundles/:id', {
    config: { roles: POLICY_READERS },
    schema: { tags: ['policy'], summary: 'One bundle with its rules', params: IdParams, response: { 200: BundleDetail, ...problemResponses(400, 401, 403, 404) } },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const record = await getBundle(app.db, id);
      if (!record) throw notFound('policy bundle', id);
      return { ...summary(record), rules: record.rules };
    },
  });

  app.get('/v1/policy-bundles/:id/archive', {
    config: { roles: OVERSIGHT },
    schema: {
      tags: ['policy'],
      summary: 'Download the exact bundle.tar.gz (verify it against sha256)',
      params: IdParams,
      response: { 200: { description: 'the bundle.tar.gz as stored', content: { 'application/gzip': { schema: Type.Unsafe({ type: 'string', format: 'binary' }) } } }, ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const archive = await getArchive(app.db, id);
      if (!archive) throw notFound('policy bundle', id);
      return reply.type('application/gzip').header('content-disposition', `attachment; filename="bundle-${id}.tar.gz"`).send(archive);
    },
  });

  app.post('/v1/policy-bundles', {
    config: { roles: RISK_OWNERS },
    validatorCompiler: archiveValidator,
    schema: {
      tags: ['policy'],
      summary: 'Upload a bundle.tar.gz built by opa build -t wasm (not activated)',
      description: 'Content-Type application/gzip. The bundle is compiled and test-evaluated before it is stored. Uploading the same bundle again returns the stored one (200).',
      // Documented as what it is: a gzip archive, not JSON.
      consumes: ['application/gzip'],
      body: Type.Unsafe({ type: 'string', format: 'binary', description: 'bundle.tar.gz' }),
      response: { 200: BundleDetail, 201: BundleDetail, ...problemResponses(400, 401, 403, 413, 415) },
    },
    handler: async (request, reply) => {
      const archive = request.body;
      if (!Buffer.isBuffer(archive)) {
        throw new HttpProblem(415, 'unsupported-media-type', 'send the bundle.tar.gz itself with Content-Type: application/gzip');
      }
      let bundle;
      try {
        // Read, compiled and test-evaluated in a worker with time and memory limits: nothing is stored unless it passes.
        bundle = await app.policy.inspect(archive);
      } catch (error) {
        if (error instanceof InvalidBundleError) throw new HttpProblem(400, 'invalid-bundle', error.message);
        throw error;
      }
      const existing = await findBundleBySha(app.db, bundle.sha256);
      if (existing) return reply.code(200).send({ ...summary(existing), rules: existing.rules });
      const record = await app.db
        .transaction((trx) => app.policy.store(trx, bundle, archive, auditContext(request)))
        .catch((error: unknown) => {
          if (error instanceof InvalidBundleError) throw new HttpProblem(400, 'invalid-bundle', error.message);
          throw error;
        });
      reply.header('location', `/v1/policy-bundles/${record.id}`);
      return reply.code(201).send({ ...summary(record), rules: record.rules });
    },
  });

  // Activating a bundle changes every finding and access decision: two people do it (src/changes/).
  const activation = app.changeKinds.register({
    kind: 'policy-bundles.activate',
    entity: 'policy-bundles',
    apply: async (trx, target, context) => {
      await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', ['custos:policy-bundles']);
      const current = await getBundle(trx, target.entityId, true);
      if (!current) throw notFound('policy bundle', target.entityId);
      const record = current.active ? current : await app.policy.activate(trx, target.entityId, context);
      return { result: record, afterCommit: () => app.policy.sync() };
    },
  });

  app.post('/v1/policy-bundles/:id/activate', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: ['policy'],
      summary: 'Propose making a bundle the active one on every instance (also how to roll back)',
      description:
        'Activation lowers protection as easily as it raises it (a bundle whose violations are always empty clears every finding), so it is a pending change (202) ' +
        'that a second compliance officer or an admin approves (POST /v1/pending-changes/:id/approve); an admin may break glass. Activating the active bundle returns it (200).',
      params: IdParams,
      response: { 200: Bundle, 202: PendingChange, ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const outcome = await guardedChange(request, activation, async (trx) => {
        const bundle = await getBundle(trx, id, true);
        if (!bundle) throw notFound('policy bundle', id);
        const active = bundle.active ? undefined : await trx('policy_bundles').where({ active: true }).first('id', 'revision');
        return {
          entityId: id,
          baseVersion: null,
          payload: { revision: bundle.revision, sha256: bundle.sha256, replaces: active ? { id: active.id, revision: active.revision } : null },
          summary: `activate policy bundle ${bundle.revision} (${bundle.sha256.slice(0, 12)})`,
          reasons: bundle.active ? [] : [`policy bundle ${bundle.revision} would replace ${active ? `the active bundle ${active.revision}` : 'no active bundle'} and decide every finding and access decision`],
          approvers: { roles: ['admin', 'compliance_officer'], subjects: [] },
        };
      });
      return sendOutcome(reply, outcome, (record) => summary(record as BundleRecord));
    },
  });

  app.post('/v1/decisions', {
    config: { roles: DECIDERS },
    schema: {
      tags: ['policy'],
      summary: 'Evaluate one entrypoint of the active bundle for one input',
      description:
        "Every decision is logged with the bundle revision that made it. 503 when no bundle is loaded or evaluation fails: never a guess. A compliance violations entrypoint answers the violations that hold at `input.now` (a violation with `violates_after` begins after that time); without a numeric `input.now`, every violation the rules report. Each violation carries its rule's metadata (`rule`).",
      body: Type.Object(
        { entrypoint: Type.String({ minLength: 1, maxLength: 200, description: 'e.g. custos/compliance/violations' }), input: Type.Unknown() },
        { additionalProperties: false },
      ),
      response: {
        200: Type.Object({ decision_id: Type.String(), entrypoint: Type.String(), bundle_revision: Type.String(), defined: Type.Boolean(), result: Type.Unknown() }),
        ...problemResponses(400, 401, 403, 413, 503),
      },
    },
    handler: async (request) => {
      const { entrypoint, input } = request.body as { entrypoint: string; input?: unknown };
      const { engine, bundleId } = app.policy.current();
      if (!engine.entrypoints.includes(entrypoint)) {
        throw new HttpProblem(400, 'validation-error', `entrypoint: unknown; the active bundle has ${engine.entrypoints.join(', ')}`, [
          { location: 'body', field: 'entrypoint', message: `must be one of: ${engine.entrypoints.join(', ')}` },
        ]);
      }
      // The access entrypoint answers what POST /v1/access/decisions answers: a bound key asks it only about its principals.
      if (entrypoint === ACCESS_DECISION) {
        checkPrincipalBinding(request, [{ principal: (input as { principal?: unknown } | null)?.principal, field: 'input.principal' }]);
      }
      const id = uuidv7();
      const started = performance.now();
      let evaluation;
      let failure: string | null = null;
      try {
        evaluation = await engine.evaluate(entrypoint, input ?? null);
        // The log keeps what was answered.
        evaluation = { ...evaluation, result: complianceAnswer(entrypoint, input, evaluation.result, engine.rules()) };
      } catch (error) {
        failure = String((error as { message?: string }).message ?? error);
      }
      const context = auditContext(request);
      await insertDecision(app.db, {
        id,
        entrypoint,
        input: input ?? null,
        result: evaluation?.result ?? null,
        defined: evaluation?.defined ?? false,
        error: failure,
        bundle_id: bundleId,
        bundle_revision: engine.revision,
        actor: context.actor,
        actor_key_id: context.actorKeyId,
        role: context.role,
        request_id: context.requestId ?? null,
        duration_ms: performance.now() - started,
      });
      if (!evaluation) throw new HttpProblem(503, 'policy-evaluation-failed', `the policy engine could not evaluate this input (decision ${id}): ${failure}`);
      return { decision_id: id, entrypoint, bundle_revision: engine.revision, defined: evaluation.defined, result: evaluation.result };
    },
  });

  app.get('/v1/decisions', {
    config: { roles: OVERSIGHT },
    schema: {
      tags: ['policy'],
      summary: 'Decision log, newest first',
      querystring: Type.Object(
        {
          ...PageQuery,
          entrypoint: Type.Optional(Type.String({ maxLength: 200 })),
          bundle_revision: Type.Optional(Type.String({ maxLength: 200 })),
          actor: Type.Optional(Type.String({ maxLength: 200 })),
          from: Type.Optional(Instant('inclusive; a date-time or a date')),
          to: Type.Optional(Instant('exclusive; a date-time or a date')),
        },
        { additionalProperties: false },
      ),
      response: { 200: Page(Decision), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => listDecisions(app.db, request.query as never),
  });

  app.get('/v1/decisions/:id', {
    config: { roles: OVERSIGHT },
    schema: { tags: ['policy'], summary: 'One logged decision: input, result, the revision that decided', params: IdParams, response: { 200: Decision, ...problemResponses(400, 401, 403, 404) } },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const decision = await getDecision(app.db, id);
      if (!decision) throw notFound('decision', id);
      return decision;
    },
  });
}
