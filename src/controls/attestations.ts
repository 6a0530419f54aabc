import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { recordAudit } from '../audit/repository.js';
import { auditContext } from '../auth/plugin.js';
import { CATALOG_READERS, RISK_OWNERS } from '../auth/roles.js';
import { paginate } from '../db/pagination.js';
import { appendEvidence } from '../evidence/chain.js';
import { HttpProblem, notFound, problemResponses } from '../http/problem.js';
import { IdParams, Instant, IsoDateTime, Nullable, Page, PageQuery, StringEnum, Uuid } from '../http/schemas.js';
import { fileProblem, MEDIA_TYPES } from './attestation-files.js';
import { iso } from '../db/timestamps.js';
import type { Catalog, Control } from './catalog.js';
import { ControlParams, findControl } from './params.js';

export const MAX_FILE_BYTES = 10 * 1024 * 1024;
export const MAX_FILES = 10;
const MAX_TOTAL_BYTES = 25 * 1024 * 1024;
/** Without a period, an attestation holds for a year: the usual SOC 2 review cycle. */
const DEFAULT_VALIDITY_DAYS = 365;

const FileMeta = Type.Object({ id: Uuid, filename: Type.String(), media_type: Type.String(), size_bytes: Type.Integer(), sha256: Type.String() });
const Attestation = Type.Object({
  id: Uuid,
  control_id: Type.String(),
  statement: Type.String(),
  period_from: Nullable(IsoDateTime),
  period_to: Nullable(IsoDateTime),
  attested_by: Type.String(),
  attested_at: IsoDateTime,
  valid_until: IsoDateTime,
  evidence_item_id: Uuid,
  files: Type.Array(FileMeta),
});

const NewAttestation = Type.Object(
  {
    statement: Type.String({ minLength: 1, maxLength: 20_000, description: 'what was checked, by whom, and the conclusion' }),
    period_from: Type.Optional(Instant('a date-time or a date')),
    period_to: Type.Optional(Instant('the attestation holds until then (a date-time or a date); default one year after it is made')),
    files: Type.Array(
      Type.Object(
        {
          filename: Type.String({ pattern: '^[A-Za-z0-9._ -]{1,200}$', description: 'letters, digits, dot, dash, underscore, space' }),
          media_type: StringEnum(MEDIA_TYPES),
          content_base64: Type.String({ maxLength: Math.ceil(MAX_FILE_BYTES / 3) * 4, pattern: '^[A-Za-z0-9+/]*={0,2}$' }),
        },
        { additionalProperties: false },
      ),
      { maxItems: MAX_FILES, default: [] },
    ),
  },
  { additionalProperties: false },
);

export interface AttestationRow {
  id: string;
  control_id: string;
  statement: string;
  period_from: Date | null;
  period_to: Date | null;
  attested_by: string;
  attested_at: Date;
  evidence_item_id: string;
}

/** Until when an attestation stands: its period's end, or a year after it was made. */
export function validUntil(row: { period_to: Date | string | null; attested_at: Date | string }): string {
  return iso(row.period_to) ?? new Date(new Date(row.attested_at).getTime() + DEFAULT_VALIDITY_DAYS * 86_400_000).toISOString();
}

/** Attestations as the API and the export show them: ISO times, how long they stand, their files. */
export async function withFiles(db: Knex, rows: AttestationRow[]) {
  const files = rows.length ? await db('attestation_files').select('id', 'attestation_id', 'filename', 'media_type', 'size_bytes', 'sha256').whereIn('attestation_id', rows.map((r) => r.id)).orderBy('filename') : [];
  return rows.map((r) => ({
    ...r,
    period_from: iso(r.period_from),
    period_to: iso(r.period_to),
    attested_at: iso(r.attested_at)!,
    valid_until: validUntil(r),
    files: files.filter((f) => f.attestation_id === r.id).map(({ attestation_id, ...f }) => f),
  }));
}

/** The newest attestation of each control that still stands at `at`. */
export async function standingAttestations(db: Knex, at: Date = new Date()): Promise<Map<string, { id: string; attested_by: string; attested_at: string; valid_until: string }>> {
  const rows: AttestationRow[] = await db('attestations').where('attested_at', '<=', at).orderBy('attested_at');
  const standing = new Map<string, { id: string; attested_by: string; attested_at: string; valid_until: string }>();
  for (const row of rows) {
    const until = validUntil(row);
    if (new Date(until) > at) standing.set(row.control_id, { id: row.id, attested_by: row.attested_by, attested_at: iso(row.attested_at)!, valid_until: until });
  }
  return standing;
}

const invalid = (field: string, message: string) => new HttpProblem(400, 'validation-error', `${field}: ${message}`, [{ location: 'body', field, message }]);

/** Decodes and checks every file before anything is written: one bad file refuses the whole attestation. */
function checkedFiles(files: Array<{ filename: string; media_type: string; content_base64: string }>) {
  const seen = new Set<string>();
  let total = 0;
  return files.map((file, i) => {
    if (file.content_base64.length % 4 !== 0) throw invalid(`files[${i}].content_base64`, 'is not base64 (its length is not a multiple of 4)');
    const content = Buffer.from(file.content_base64, 'base64');
    const problem = fileProblem(file, content, MAX_FILE_BYTES);
    if (problem) throw invalid(`files[${i}]`, problem);
    if (seen.has(file.filename.toLowerCase())) throw invalid(`files[${i}].filename`, `${file.filename} is attached twice`);
    seen.add(file.filename.toLowerCase());
    total += content.length;
    if (total > MAX_TOTAL_BYTES) throw invalid('files', `the files add up to more than ${MAX_TOTAL_BYTES} bytes`);
    return { id: uuidv7(), filename: file.filename, media_type: file.media_type, size_bytes: content.length, sha256: createHash('sha256').update(content).digest('hex'), content };
  });
}

export function registerAttestationRoutes(app: FastifyInstance, catalog: Catalog) {
  const controlOf = (id: string): Control => findControl(catalog, id);

  app.post('/v1/controls/:id/attestations', {
    config: { roles: RISK_OWNERS },
    bodyLimit: Math.ceil(MAX_TOTAL_BYTES / 3) * 4 + 256 * 1024,
    schema: {
      tags: ['controls'],
      summary: 'Attest a manual (or partly automated) control, with evidence files',
      description: `Files travel base64-encoded in JSON: at most ${MAX_FILES}, ${MAX_FILE_BYTES} bytes each, of the listed media types; each is checked by content, not only by name, stored, and hashed (SHA-256) into the evidence chain with the statement.`,
      params: ControlParams,
      body: NewAttestation,
      response: { 201: Attestation, ...problemResponses(400, 401, 403, 404, 409, 413) },
    },
    handler: async (request, reply) => {
      const control = controlOf((request.params as { id: string }).id);
      if (control.automation === 'automated') throw new HttpProblem(409, 'not-attestable', `${control.id} is tested automatically by policy rules; attest manual or partly automated controls`);
      const body = request.body as { statement: string; period_from?: string; period_to?: string; files: Array<{ filename: string; media_type: string; content_base64: string }> };
      if (body.period_from && body.period_to && body.period_to < body.period_from) throw invalid('period_to', 'must not be before period_from');
      const files = checkedFiles(body.files);
      const id = uuidv7();
      const attestedAt = new Date().toISOString();
      const created = await app.db.transaction(async (trx) => {
        const evidenceBody = {
          attestation: id,
          control: { id: control.id, title: control.title },
          statement: body.statement,
          period: { from: body.period_from ?? null, to: body.period_to ?? null },
          attested_by: request.actor.name,
          attested_at: attestedAt,
          files: files.map(({ content, id: fileId, ...meta }) => meta),
        };
        const head = await appendEvidence(trx, [{ control_id: control.id, kind: 'attestation', source_id: id, collected_at: attestedAt, bundle_revision: null, body: evidenceBody }]);
        const item = await trx('evidence_items').select('id').where({ hash: head }).first();
        await trx('attestations').insert({ id, control_id: control.id, statement: body.statement, period_from: body.period_from ?? null, period_to: body.period_to ?? null, attested_by: request.actor.name, attested_at: attestedAt, evidence_item_id: item.id });
        for (const file of files) await trx('attestation_files').insert({ ...file, attestation_id: id });
        await recordAudit(trx, auditContext(request), { action: 'attest', entity: 'attestations', entityId: id, newValue: { control_id: control.id, statement: body.statement, files: evidenceBody.files } });
        const [row] = await withFiles(trx, [await trx('attestations').where({ id }).first()]);
        return row!;
      });
      return reply.code(201).header('location', `/v1/attestations/${id}`).send(created);
    },
  });

  app.get('/v1/controls/:id/attestations', {
    config: { roles: CATALOG_READERS },
    schema: { tags: ['controls'], summary: 'A control’s attestations, newest first', params: ControlParams, querystring: Type.Object(PageQuery, { additionalProperties: false }), response: { 200: Page(Attestation), ...problemResponses(400, 401, 403, 404) } },
    handler: async (request) => {
      const control = controlOf((request.params as { id: string }).id);
      const page = await paginate<AttestationRow & Record<string, unknown>>(app.db('attestations').where({ control_id: control.id }), request.query as { limit?: number; cursor?: string }, undefined, 'desc');
      return { items: await withFiles(app.db, page.items), next_cursor: page.next_cursor };
    },
  });

  app.get('/v1/attestations/:id', {
    config: { roles: CATALOG_READERS },
    schema: { tags: ['controls'], summary: 'One attestation with its files’ names, types, sizes and SHA-256', params: IdParams, response: { 200: Attestation, ...problemResponses(400, 401, 403, 404) } },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const row = await app.db('attestations').where({ id }).first();
      if (!row) throw notFound('attestation', id);
      return (await withFiles(app.db, [row]))[0];
    },
  });

  app.get('/v1/attestations/:id/files/:fileId', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['controls'],
      summary: 'Download an attestation file as it was attested',
      params: Type.Object({ id: Uuid, fileId: Uuid }, { additionalProperties: false }),
      response: { 200: { description: 'the file, byte for byte, with its stored content type', content: { 'application/octet-stream': { schema: Type.String({ format: 'binary' }) } } }, ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request, reply) => {
      const { id, fileId } = request.params as { id: string; fileId: string };
      const file = await app.db('attestation_files').where({ id: fileId, attestation_id: id }).first();
      if (!file) throw notFound('attestation file', fileId);
      return reply
        .type(file.media_type)
        .header('content-disposition', `attachment; filename="${file.filename}"`)
        .header('x-content-type-options', 'nosniff')
        .header('digest', `sha-256=${Buffer.from(file.sha256, 'hex').toString('base64')}`)
        .send(file.content);
    },
  });
}
