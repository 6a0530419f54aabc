import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CATALOG_READERS, OVERSIGHT } from '../auth/roles.js';
import { paginate } from '../db/pagination.js';
import { notFound, problemResponses } from '../http/problem.js';
import { IdParams, Instant, IsoDateTime, Page, PageQuery } from '../http/schemas.js';
import { CONTROL_ID } from '../controls/catalog.js';
import { EVIDENCE_KINDS, verifyChain } from './chain.js';
import { withBodies } from './body-store.js';
import { v7 as uuidv7 } from 'uuid';
import { recordAudit } from '../audit/repository.js';
import { auditContext } from '../auth/plugin.js';
import { HttpProblem } from '../http/problem.js';
import { ROLES, StringEnum } from '../http/schemas.js';
import { PeriodQuery, parsePeriod } from '../http/period.js';
import type { Catalog } from '../controls/catalog.js';
import { evidenceExport, EXPORT_FORMAT } from './export.js';
import type { SigningKey } from './signing.js';

const Item = Type.Object({
  seq: Type.Integer(),
  id: Type.String({ examples: ['0190a8d2-7c1e-7000-8000-000000000077'] }),
  control_id: Type.String(),
  kind: Type.String({ examples: ['evaluation'] }),
  source_id: Type.String(),
  collected_at: Type.String({ format: 'date-time', description: 'when the state was observed, as its source says (a file snapshot\'s observed_at)' }),
  received_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'when Custos received it (its own clock; in the item hash); null for items chained before it was recorded' }),
  bundle_revision: Type.Union([Type.String(), Type.Null()]),
  body: Type.Unknown({ description: 'null only when its S3 object is missing (verify reports it)' }),
  body_store: Type.String({ description: 'postgres or s3 (CUSTOS_EVIDENCE_BUCKET)' }),
  body_sha256: Type.String(),
  prev_hash: Type.String(),
  hash: Type.String(),
});

/** Most days one export covers: a Type II period of a year, with margin. */
export const MAX_EXPORT_DAYS = 400;

export default async function evidenceRoutes(app: FastifyInstance, { catalog, signingKey, version }: { catalog: Catalog; signingKey: SigningKey; version: string }) {
  app.get('/v1/evidence/public-key', {
    config: { roles: ROLES },
    schema: {
      tags: ['evidence'],
      summary: 'The Ed25519 public key that verifies export manifests',
      description: 'Auditors check `manifest.sig` against this key: `openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json -sigfile manifest.sig`.',
      response: {
        200: Type.Object({ algorithm: Type.Literal('Ed25519'), key_id: Type.String({ description: 'SHA-256 of the DER public key; manifests name it' }), public_key_pem: Type.String() }),
        ...problemResponses(401, 403),
      },
    },
    handler: async () => ({ algorithm: 'Ed25519' as const, key_id: signingKey.keyId, public_key_pem: signingKey.publicKeyPem }),
  });

  app.get('/v1/evidence/export', {
    config: { roles: OVERSIGHT },
    schema: {
      tags: ['evidence'],
      summary: 'Download the evidence of an audit period as a zip (streamed)',
      description: `A zip (${EXPORT_FORMAT}) of the period's evidence per control (JSON and CSV), the control status timeline and Type II coverage, findings, exceptions, attestations and their files, the hash chain of the period, an OSCAL 1.1 assessment-results document, an HTML summary, and \`manifest.json\` with the SHA-256 of every file, signed with Ed25519 (\`manifest.sig\`). README.txt in the zip gives the offline verification commands. Each export is recorded in the audit log.`,
      querystring: Type.Object(
        { ...PeriodQuery, controls: Type.Optional(Type.String({ maxLength: 2000, description: 'comma-separated control ids, e.g. CC6.1,CC7.2; default: all' })) },
        { additionalProperties: false },
      ),
      response: {
        200: { description: 'The signed evidence zip, streamed', content: { 'application/zip': { schema: Type.String({ format: 'binary' }) } } },
        ...problemResponses(400, 401, 403),
      },
    },
    handler: async (request, reply) => {
      const query = request.query as { from?: string; to?: string; controls?: string };
      const period = parsePeriod(query, MAX_EXPORT_DAYS);
      const wanted = query.controls ? [...new Set(query.controls.split(',').map((c) => c.trim()).filter(Boolean))] : undefined;
      const unknown = (wanted ?? []).filter((id) => !catalog.controls.some((c) => c.id === id));
      if (unknown.length || (wanted && wanted.length === 0)) {
        const message = unknown.length ? `unknown control id(s): ${unknown.join(', ')}` : 'must name at least one control';
        throw new HttpProblem(400, 'validation-error', `controls: ${message}`, [{ location: 'querystring', field: 'controls', message }]);
      }
      const controls = wanted ? catalog.controls.filter((c) => wanted.includes(c.id)) : catalog.controls;
      const exportRequest = { id: uuidv7(), period, controls, generatedAt: new Date(), generatedBy: request.actor.name };
      // The export is recorded before a byte is sent: who took which period's evidence, and when.
      await app.db.transaction((trx) =>
        recordAudit(trx, auditContext(request), { action: 'export', entity: 'evidence', entityId: exportRequest.id, newValue: { period, controls: controls.map((c) => c.id) } }),
      );
      // No active bundle: the timeline then shows every automated control untested.
      const stream = await evidenceExport({ db: app.db, catalog, rules: app.policy.rules(), signingKey, version }, exportRequest);
      stream.on('error', (error) => request.log.error({ err: error.message, export: exportRequest.id }, 'evidence export failed while streaming'));
      const name = `custos-evidence-${period.from.slice(0, 10)}-to-${period.to.slice(0, 10)}.zip`;
      return reply.type('application/zip').header('content-disposition', `attachment; filename="${name}"`).header('x-custos-export-id', exportRequest.id).send(stream);
    },
  });

  app.get('/v1/evidence', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['evidence'],
      summary: 'Evidence items in chain order (filters control, kind, from, to)',
      querystring: Type.Object(
        {
          ...PageQuery,
          control: Type.Optional(Type.String({ pattern: CONTROL_ID })),
          kind: Type.Optional(StringEnum(EVIDENCE_KINDS)),
          from: Type.Optional(Instant('inclusive; a date-time or a date')),
          to: Type.Optional(Instant('exclusive; a date-time or a date')),
        },
        { additionalProperties: false },
      ),
      response: { 200: Page(Item), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const { control, kind, from, to, ...page } = request.query as { control?: string; kind?: string; from?: string; to?: string };
      const query = app.db('evidence_items').select('*');
      if (control) query.where({ control_id: control });
      if (kind) query.where({ kind });
      if (from) query.where('collected_at', '>=', from);
      if (to) query.where('collected_at', '<', to);
      const result = await paginate<Record<string, unknown> & { body: unknown; body_sha256: string }>(query, page, [{ sql: 'seq', field: 'seq' }]);
      return { ...result, items: await withBodies(app.db, result.items) };
    },
  });

  app.get('/v1/evidence/:id', {
    config: { roles: CATALOG_READERS },
    schema: { tags: ['evidence'], summary: 'One evidence item', params: IdParams, response: { 200: Item, ...problemResponses(400, 401, 403, 404) } },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const item = await app.db('evidence_items').where({ id }).first();
      if (!item) throw notFound('evidence item', id);
      return (await withBodies(app.db, [item]))[0];
    },
  });

  app.post('/v1/evidence/verify', {
    config: { roles: OVERSIGHT },
    schema: {
      tags: ['evidence'],
      summary: 'Re-check the whole evidence chain and report the first break',
      description: 'Every body against its SHA-256, every hash against its fields and the previous hash. Keep the returned head: a later deletion of the newest items is then detectable too.',
      response: {
        200: Type.Object({
          ok: Type.Boolean(),
          items: Type.Integer(),
          head: Type.String(),
          first_break: Type.Optional(Type.Object({ seq: Type.Integer(), id: Type.String({ examples: ['0190a8d2-7c1e-7000-8000-000000000043'] }), problem: Type.String() })),
        }),
        ...problemResponses(401, 403),
      },
    },
    handler: async () => verifyChain(app.db),
  });
}
