import type { Knex } from 'knex';
import { canonicalJson, GENESIS, sha256 } from '../evidence/chain.js';
import type { AuditEntry } from './repository.js';

/**
 * The audit log is a hash chain like the evidence chain (src/evidence/chain.ts): each row's hash
 * covers the previous row's hash and every field of the row, so an edited, deleted or inserted row
 * breaks the chain from there on. A chain rebuilt after an edit is caught by the checkpoints of its
 * head kept outside the database (src/integrity/).
 */

/**
 * The fields a row's hash covers, in their stored form (JSON values as JSONB returns them): every
 * column of the row except its id and the chain columns themselves. Derived from the row type so a
 * column added later is covered unless it is named here as deliberately left out.
 */
export type AuditHashFields = Omit<AuditEntry, 'id'>;

/**
 * Columns added after rows were already chained are hashed only when set, so the rows written before
 * them (where they are null) keep their hashes and the chain needs no rewrite (a rewrite would break
 * every checkpoint kept outside the database).
 */
const ADDED_LATER = ['actor_email'] as const;

export function auditHash(prev: string, row: AuditHashFields): string {
  const { at, actor, actor_key_id, actor_subject, role, action, entity, entity_id, old_value, new_value, client_ip, request_id, pending_change_id, break_glass_reason } = row;
  const fields: Record<string, unknown> = { at: new Date(at).toISOString(), actor, actor_key_id, actor_subject, role, action, entity, entity_id, old_value, new_value, client_ip, request_id, pending_change_id, break_glass_reason };
  for (const column of ADDED_LATER) if (row[column] != null) fields[column] = row[column];
  return sha256(`${prev}\n${canonicalJson(fields)}`);
}

/** Takes the chain's lock for the rest of the transaction and returns the hash to link to. */
export async function auditChainHead(trx: Knex.Transaction): Promise<string> {
  await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', ['custos:audit']);
  return (await trx('audit_log').select('hash').orderBy('id', 'desc').first())?.hash ?? GENESIS;
}

export interface AuditVerification {
  ok: boolean;
  rows: number;
  /** The hash of the newest row (GENESIS when empty). */
  head: string;
  /** The id of the newest row checked. */
  last_id: number;
  first_break?: { id: number; problem: string };
}

/** Re-checks every row in id order: its link to the previous row and its hash over its fields. */
export async function verifyAuditChain(db: Knex): Promise<AuditVerification> {
  let prev = GENESIS;
  let rows = 0;
  let after = 0;
  for (;;) {
    const batch = await db('audit_log').where('id', '>', after).orderBy('id').limit(1000);
    if (batch.length === 0) return { ok: true, rows, head: prev, last_id: after };
    for (const row of batch) {
      const fail = (problem: string) => ({ ok: false, rows, head: prev, last_id: after, first_break: { id: Number(row.id), problem } });
      if (row.prev_hash !== prev) return fail('the previous-hash link is broken: a row before it was deleted or altered');
      if (auditHash(prev, row) !== row.hash) return fail('the row hash does not match its fields: it was edited');
      prev = row.hash;
      rows++;
      after = Number(row.id);
    }
  }
}
