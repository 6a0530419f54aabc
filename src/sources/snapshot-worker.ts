import sjson from 'secure-json-parse';
import { nulProblem, scanJson, tooDeepProblem } from '../http/json-body.js';
import { HttpProblem } from '../http/problem.js';
import { prepareSnapshot, type PreparedSnapshotData } from './snapshot.js';

/**
 * The piscina worker of src/sources/snapshot-import.ts: a large `POST /v1/collections` body is
 * decoded, parsed and, when it imports a file, checked and prepared for storing here, so that the
 * event loop never holds its object graph. It answers with the body's small fields, the prepared
 * snapshot (strings and counts), or the problem the request gets.
 */

export interface ImportTask {
  body: Uint8Array;
}

export interface ProblemData {
  status: number;
  slug: string;
  detail: string;
  errors?: HttpProblem['errors'];
  errorCount?: number;
}

export type ImportAnswer = { body: Record<string, unknown>; prepared?: PreparedSnapshotData } | { problem: ProblemData };

/** The route's fields other than `snapshot`; larger values than this are not sent back (the schema refuses them by type). */
const FIELD_BYTES = 64 * 1024;
const KNOWN = new Set(['source', 'sources', 'since', 'snapshot']);

const problemData = (p: HttpProblem): ProblemData => ({ status: p.status, slug: p.slug, detail: p.detail, errors: p.errors, errorCount: p.errorCount });

export default async function importBody({ body }: ImportTask): Promise<ImportAnswer> {
  try {
    const text = new TextDecoder().decode(body);
    const { tooDeep, nul } = scanJson(text);
    if (tooDeep) throw tooDeepProblem();
    // As Fastify's own parser does (onProtoPoisoning and onConstructorPoisoning 'error').
    const value: unknown = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
    if (nul) throw nulProblem(value);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { body: value as Record<string, unknown> };
    const document = value as Record<string, unknown>;
    // Only what the route's schema and handler read comes back; an unknown field comes back as
    // null so that the schema still names it.
    const small: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(document)) {
      if (key === 'snapshot') continue;
      small[key] = !KNOWN.has(key) ? null : JSON.stringify(field).length > FIELD_BYTES ? '(too large)' : field;
    }
    if (document.snapshot === undefined) return { body: small };
    if (document.source !== 'file') return { body: { ...small, snapshot: null } };
    return { body: small, prepared: await prepareSnapshot(document.snapshot) };
  } catch (error) {
    if (error instanceof HttpProblem) return { problem: problemData(error) };
    // JSON syntax errors and secure-json-parse's refusals, as the inline parser reports them.
    if (error instanceof SyntaxError) return { problem: { status: 400, slug: 'malformed-body', detail: error.message } };
    throw error;
  }
}
