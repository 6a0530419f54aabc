import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * The audit log becomes a hash chain (src/audit/chain.ts): `prev_hash` and `hash` on every row.
 * Existing rows are chained in id order here, once, by the owner (the append-only trigger is set
 * aside for this statement only). The hashing is repeated here because migrations import no app
 * code; it must stay identical to src/audit/chain.ts (test/security/audit-chain.test.ts checks it).
 */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE audit_log ADD COLUMN prev_hash text, ADD COLUMN hash text`);
  await knex.raw('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_or_delete');
  let prev = '0'.repeat(64);
  let after = 0;
  for (;;) {
    const rows = await knex('audit_log').where('id', '>', after).orderBy('id').limit(1000);
    if (rows.length === 0) break;
    for (const row of rows) {
      const { at, actor, actor_key_id, actor_subject, role, action, entity, entity_id, old_value, new_value, client_ip, request_id, pending_change_id, break_glass_reason } = row;
      const fields = { at: new Date(at).toISOString(), actor, actor_key_id, actor_subject, role, action, entity, entity_id, old_value, new_value, client_ip, request_id, pending_change_id, break_glass_reason };
      const hash = createHash('sha256').update(`${prev}\n${canonicalJson(fields)}`, 'utf8').digest('hex');
      await knex('audit_log').update({ prev_hash: prev, hash }).where({ id: row.id });
      prev = hash;
      after = Number(row.id);
    }
  }
  await knex.raw('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_or_delete');
  await knex.raw(`
    ALTER TABLE audit_log ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN hash SET NOT NULL,
      ADD CONSTRAINT audit_log_hash_unique UNIQUE (hash);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE audit_log DROP COLUMN hash, DROP COLUMN prev_hash');
}
