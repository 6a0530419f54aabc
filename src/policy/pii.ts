import type { Knex } from 'knex';
import { ACCESS_DECISION } from './entrypoints.js';
import type { DecisionRecord } from './repository.js';

/** Whether a logged decision's input carries personal data, and why (at most a few reasons). */
export interface PiiAssessment {
  carries_pii: boolean;
  reasons: string[];
}

const MAX_REASONS = 10;
/** Nodes of a free-form input looked at; a larger input is not classified and counts as carrying PII. */
const MAX_NODES = 200_000;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const SSN = /^\d{3}-\d{2}-\d{4}$/;

/** Classifications ranked at least as sensitive as `confidential` (seeded: confidential, restricted). */
async function sensitiveClassifications(db: Knex): Promise<Set<string>> {
  const rows: Array<{ name: string; rank: number }> = await db('classifications').select('name', 'rank');
  const floor = rows.find((r) => r.name === 'confidential')?.rank;
  const names = floor === undefined ? ['confidential', 'restricted'] : rows.filter((r) => r.rank >= floor).map((r) => r.name);
  return new Set(names);
}

/**
 * Does a logged decision's input carry PII? Fails closed: what cannot be classified counts as PII.
 *
 * - An access decision names a principal, a table and columns: it carries PII when a column it
 *   reads (all of the table's when it names none) has a PII type or a classification at least
 *   `confidential` in the catalog now, when it was answered with masking obligations (PII columns
 *   when it was decided), when its table or a column is no longer in the catalog, when its
 *   free-form `context` is not empty, or when its principal is a person (kind `user`).
 * - Any other decision's input is free-form: it carries PII when it holds a PII flag (`pii_type`,
 *   a `classification` at least `confidential`, `has_pii`/`pii: true`), a value shaped like an
 *   e-mail address or a US SSN, or is too large to classify.
 */
export async function piiOfDecision(db: Knex, decision: Pick<DecisionRecord, 'entrypoint' | 'input' | 'result'>): Promise<PiiAssessment> {
  const sensitive = await sensitiveClassifications(db);
  const reasons = decision.entrypoint === ACCESS_DECISION ? await accessReasons(db, decision, sensitive) : freeFormReasons(decision.input, sensitive);
  return { carries_pii: reasons.length > 0, reasons: reasons.slice(0, MAX_REASONS) };
}

async function accessReasons(db: Knex, decision: Pick<DecisionRecord, 'input' | 'result'>, sensitive: Set<string>): Promise<string[]> {
  const input = decision.input as { principal?: unknown; resource?: { store?: unknown; database?: unknown; table?: unknown; columns?: unknown }; context?: unknown } | null;
  const resource = input?.resource;
  if (!input || typeof input !== 'object' || !resource || typeof resource.store !== 'string' || typeof resource.database !== 'string' || typeof resource.table !== 'string') {
    return ['the logged input names no table, so its columns cannot be classified'];
  }
  const reasons: string[] = [];
  if (input.context !== undefined && input.context !== null && (typeof input.context !== 'object' || Object.keys(input.context).length > 0)) {
    reasons.push('its context is free-form and not classified');
  }
  const mask = (decision.result as { obligations?: { mask?: Record<string, unknown> } } | null)?.obligations?.mask;
  if (mask && Object.keys(mask).length > 0) reasons.push(`it was answered with masking obligations on ${Object.keys(mask).slice(0, 5).join(', ')}`);
  if (typeof input.principal === 'string') {
    const principal = await db('principals').select('kind').where({ arn: input.principal }).first();
    if (principal?.kind === 'user') reasons.push('its principal is a person (kind user)');
  }
  const table = `${resource.store}/${resource.database}/${resource.table}`;
  const asset = await db('assets').select('id').where({ store: resource.store, database: resource.database, table_name: resource.table }).first();
  if (!asset) return [...reasons, `table ${table} is not in the catalog, so its columns cannot be classified`];
  const columns: Array<{ name: string; classification: string; pii_type: string | null }> = await db('asset_columns').select('name', 'classification', 'pii_type').where({ asset_id: asset.id });
  const byName = new Map(columns.map((c) => [c.name, c]));
  const asked = Array.isArray(resource.columns) ? resource.columns.map(String) : columns.map((c) => c.name);
  for (const name of asked) {
    const column = byName.get(name);
    if (!column) reasons.push(`column ${table}.${name} is not in the catalog`);
    else if (column.pii_type) reasons.push(`column ${table}.${name} has PII type ${column.pii_type}`);
    else if (sensitive.has(column.classification)) reasons.push(`column ${table}.${name} is classified ${column.classification}`);
    if (reasons.length >= MAX_REASONS) break;
  }
  return reasons;
}

function freeFormReasons(input: unknown, sensitive: Set<string>): string[] {
  const reasons = new Set<string>();
  let nodes = 0;
  const stack: Array<{ value: unknown; path: string }> = [{ value: input, path: 'input' }];
  while (stack.length > 0 && reasons.size < MAX_REASONS) {
    if (++nodes > MAX_NODES) {
      reasons.add(`the input is too large to classify (more than ${MAX_NODES} values)`);
      break;
    }
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (EMAIL.test(value)) reasons.add(`${path} looks like an e-mail address`);
      else if (SSN.test(value)) reasons.add(`${path} looks like a social security number`);
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push({ value: item, path: `${path}[${i}]` }));
    } else if (value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (key === 'pii_type' && typeof item === 'string' && item) reasons.add(`${path} has PII type ${item}`);
        else if (key === 'classification' && typeof item === 'string' && sensitive.has(item)) reasons.add(`${path} is classified ${item}`);
        else if ((key === 'has_pii' || key === 'pii') && item === true) reasons.add(`${path} is flagged ${key}`);
        stack.push({ value: item, path: `${path}.${key}` });
      }
    }
  }
  return [...reasons];
}
