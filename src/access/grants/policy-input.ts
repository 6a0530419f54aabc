import type { Knex } from 'knex';
import type { GrantRow } from './store.js';
import { epochSeconds } from '../../policy/input.js';

/**
 * The approved table grants as compliance policies read them (input.catalog.approved_grants, see
 * ApprovedGrant in src/policy/input.ts): every grant that is, or may still be, in Lake Formation.
 * Policies compare expires_at with their own `now`.
 */
export async function approvedGrantsForPolicy(db: Knex): Promise<Array<{ principal: string; database: string; table: string; columns: string[]; purpose: string; expires_at: number }>> {
  const rows: GrantRow[] = await db('access_grants')
    .where({ scope: 'table' })
    .whereIn('status', ['pending_apply', 'active', 'pending_revoke'])
    .orderBy('id');
  return rows.map((g) => ({
    principal: g.principal,
    database: g.database ?? '',
    table: g.table_name ?? '',
    columns: g.columns,
    purpose: g.purpose,
    expires_at: epochSeconds(g.expires_at),
  }));
}
