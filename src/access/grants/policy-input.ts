import type { Knex } from 'knex';
import type { GrantRow } from './store.js';
import { epochSeconds } from '../../policy/input.js';

export interface PolicyGrant {
  scope: 'table' | 'lf_tag';
  principal: string;
  database: string;
  table: string;
  columns: string[];
  /** scope lf_tag: the LF-tag expression it grants ([{key, values}]). */
  lf_tag_expression?: Array<{ key: string; values: string[] }>;
  purpose: string;
  expires_at: number;
}

/**
 * The approved grants as compliance policies read them (input.catalog.approved_grants, see
 * ApprovedGrant in src/policy/input.ts): table and LF-tag grants that are approved and in force,
 * `active`, or `pending_apply` (approved, being applied). A grant `pending_revoke` is being taken
 * away: what it granted no longer counts as approved. Policies compare expires_at with their `now`.
 */
export async function approvedGrantsForPolicy(db: Knex): Promise<PolicyGrant[]> {
  const rows: GrantRow[] = await db('access_grants').whereIn('scope', ['table', 'lf_tag']).whereIn('status', ['pending_apply', 'active']).orderBy('id');
  return rows.map((g) => ({
    scope: g.scope === 'lf_tag' ? ('lf_tag' as const) : ('table' as const),
    principal: g.principal,
    database: g.database ?? '',
    table: g.table_name ?? '',
    columns: g.columns ?? [],
    ...(g.scope === 'lf_tag' ? { lf_tag_expression: (g.lf_tag_expression ?? []).map((t) => ({ key: t.tag_key, values: t.tag_values })) } : {}),
    purpose: g.purpose,
    expires_at: epochSeconds(g.expires_at),
  }));
}
