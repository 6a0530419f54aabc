import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { bodyStoreOf, withBodies } from './body-store.js';

/**
 * A part of a value already written as canonical JSON, which canonicalJson copies as it is: a
 * value that recurs across several bodies (a finding listed under each of its controls) is
 * serialised once. Only ever made from canonicalJson's own output (`CanonicalText.of`).
 */
export class CanonicalText {
  private constructor(readonly text: string) {}
  static of(value: unknown): CanonicalText {
    return new CanonicalText(canonicalJson(value));
  }
}

/**
 * JSON with object keys sorted at every level: the same value always hashes the same.
 * Written as parts joined once, not joined level by level: an evaluation's body of 15,000 findings
 * is 5 MB, and a join per level made three or four flat 5 MB copies of it. The text is the same as
 * the joins gave, to the character (test/evidence/canonical-json.test.ts).
 */
export function canonicalJson(value: unknown): string {
  if (value instanceof CanonicalText) return value.text;
  if (!value || typeof value !== 'object') return JSON.stringify(value);
  const parts: string[] = [];
  writeCanonical(value, parts);
  return parts.join('');
}

function writeCanonical(value: object, out: string[]): void {
  if (value instanceof CanonicalText) out.push(value.text);
  else if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      const element: unknown = value[i];
      // An element JSON cannot write (undefined, a function) is left empty, as Array.join leaves it.
      if (element && typeof element === 'object') writeCanonical(element, out);
      else out.push(JSON.stringify(element) ?? '');
    }
    out.push(']');
  } else {
    out.push('{');
    let first = true;
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member === undefined) continue;
      out.push(first ? JSON.stringify(key) + ':' : ',' + JSON.stringify(key) + ':');
      first = false;
      if (member && typeof member === 'object') writeCanonical(member, out);
      else out.push(`${JSON.stringify(member)}`);
    }
    out.push('}');
  }
}

export const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The hash before the first item. */
export const GENESIS = '0'.repeat(64);

export const EVIDENCE_KINDS = ['collection', 'evaluation', 'attestation', 'exception', 'remediation', 'data_quality', 'change'] as const;

export interface EvidenceInput {
  control_id: string;
  kind: (typeof EVIDENCE_KINDS)[number];
  source_id: string;
  collected_at: string;
  bundle_revision: string | null;
  body: unknown;
}

export interface ChainFields {
  id: string;
  control_id: string;
  kind: string;
  source_id: string;
  /** When the state was observed: the source says so (a file snapshot's observed_at), so it can be back-dated. */
  collected_at: string;
  bundle_revision: string | null;
  body_sha256: string;
  /** When Custos received the item: set by the server (migration 024); null on items chained before it. */
  received_at?: string | null;
}

/**
 * An item's hash covers the previous hash and every field but the body, which its SHA-256 stands for.
 * `received_at` was added later: it is covered when present, so items chained before it (where it is
 * null) keep their hashes and the chain needs no rewrite, as audit_log's actor_email (src/audit/chain.ts).
 */
export function itemHash(prevHash: string, fields: ChainFields): string {
  const { id, control_id, kind, source_id, collected_at, bundle_revision, body_sha256, received_at } = fields;
  const hashed: Record<string, unknown> = { id, control_id, kind, source_id, collected_at, bundle_revision, body_sha256 };
  if (received_at != null && received_at !== '') hashed.received_at = new Date(received_at).toISOString();
  return sha256(`${prevHash}\n${canonicalJson(hashed)}`);
}

/** Appends items to the chain inside the caller's transaction; appends are serialised so the chain stays linear. */
export async function appendEvidence(trx: Knex.Transaction, items: EvidenceInput[]): Promise<string> {
  await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', ['custos:evidence']);
  const last: { seq: string; hash: string } | undefined = await trx('evidence_items').select('seq', 'hash').orderBy('seq', 'desc').first();
  let prev: string = last?.hash ?? GENESIS;
  // Seq is last + 1 under the lock, not the identity sequence: a rolled-back append would leave a hole
  // in it, and a hole must mean a deleted item (verifyChain and the export check that seq is contiguous).
  let seq = last ? Number(last.seq) : 0;
  const store = bodyStoreOf(trx);
  const bodies: Array<{ sha256: string; json: string }> = [];
  // The server's clock, never the caller's: what the source claims is collected_at.
  const received_at = new Date().toISOString();
  const rows = items.map((item) => {
    const collected_at = new Date(item.collected_at).toISOString();
    const json = canonicalJson(item.body);
    const fields = { id: uuidv7(), control_id: item.control_id, kind: item.kind, source_id: item.source_id, collected_at, bundle_revision: item.bundle_revision, body_sha256: sha256(json), received_at };
    bodies.push({ sha256: fields.body_sha256, json });
    const hash = itemHash(prev, fields);
    const row = { seq: ++seq, ...fields, body: store.kind === 'postgres' ? json : null, body_store: store.kind, prev_hash: prev, hash };
    prev = hash;
    return row;
  });
  await store.put(bodies);
  for (let i = 0; i < rows.length; i += 500) {
    // seq is an identity column (GENERATED ALWAYS): the numbers assigned above need OVERRIDING SYSTEM VALUE.
    const { sql, bindings } = trx('evidence_items').insert(rows.slice(i, i + 500)).toSQL();
    await trx.raw(sql.replace(/\) values \(/, ') overriding system value values ('), bindings);
  }
  return prev;
}

export interface Verification {
  ok: boolean;
  items: number;
  /** The hash of the last item: publish it, and a later deletion of the tail is detectable too. */
  head: string;
  first_break?: { seq: number; id: string; problem: string };
}

/** Re-checks every item in order: its body against its SHA-256, its hash against its fields and predecessor. */
export async function verifyChain(db: Knex): Promise<Verification> {
  let prev = GENESIS;
  let items = 0;
  let after = 0;
  // The chain starts at seq 1 and has no hole: appendEvidence numbers items last + 1 under its lock.
  for (;;) {
    const rows = await withBodies(db, await db('evidence_items').where('seq', '>', after).orderBy('seq').limit(1000));
    if (rows.length === 0) return { ok: true, items, head: prev };
    for (const row of rows) {
      const fail = (problem: string) => ({ ok: false, items, head: prev, first_break: { seq: Number(row.seq), id: row.id, problem } });
      if (Number(row.seq) !== after + 1) return fail(`seq ${after + 1}${Number(row.seq) - after > 2 ? `–${Number(row.seq) - 1}` : ''} is missing: an item was deleted`);
      if (row.body === null) return fail('the body is missing from the evidence store');
      if (sha256(canonicalJson(row.body)) !== row.body_sha256) return fail('the body does not match its SHA-256: it was edited');
      if (row.prev_hash !== prev) return fail('the previous-hash link is broken: an item before it was deleted or altered');
      if (itemHash(prev, row) !== row.hash) return fail('the item hash does not match its fields: it was edited');
      prev = row.hash;
      items++;
      after = Number(row.seq);
    }
  }
}
