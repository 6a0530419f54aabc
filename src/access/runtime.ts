import type { Knex } from 'knex';
import { epochSeconds } from '../policy/input.js';

/** Notified (on commit) by every change to the catalog, principals or grants. */
export const ACCESS_DATA_CHANNEL = 'custos_access_data';

export interface AccessData {
  principals: Record<string, { name: string; kind: string; team: string; domain: string | null }>;
  tables: Record<string, { classification: string; domain: string; columns: Record<string, { classification: string; pii_type: string | null; masking_rule: string | null }> }>;
  masking_rules: Record<string, { strategy: string; params: Record<string, unknown> }>;
  classification_ranks: Record<string, number>;
  grants: Record<string, Array<{ id: string; scope: string; domain: string | null; store: string | null; database: string | null; table: string | null; columns: string[]; permissions: string[]; purpose: string; expires_at: number }>>;
}

/**
 * What access decisions need, keyed for constant-time lookups in Wasm (which has no rule
 * indexing): preloaded into every policy instance as data.custos.runtime, so a decision reads no
 * database. Approved grants count from approval (pending_apply) until revocation.
 */
export async function loadAccessData(db: Knex): Promise<AccessData> {
  const [principals, assets, columns, rules, ranks, grants] = await Promise.all([
    db('principals').select('arn', 'name', 'kind', 'team', 'domain'),
    db('assets').select('id', 'store', 'database', 'table_name', 'classification', 'domain'),
    db('asset_columns').select('asset_id', 'name', 'classification', 'pii_type', 'masking_rule'),
    db('masking_rules').select('name', 'strategy', 'params'),
    db('classifications').select('name', 'rank'),
    db('access_grants').select('*').whereIn('status', ['pending_apply', 'active']).where('expires_at', '>', db.fn.now()),
  ]);
  const data: AccessData = { principals: {}, tables: {}, masking_rules: {}, classification_ranks: {}, grants: {} };
  for (const p of principals) data.principals[p.arn] = { name: p.name, kind: p.kind, team: p.team, domain: p.domain };
  const byId = new Map<string, AccessData['tables'][string]>();
  for (const a of assets) {
    const table = { classification: a.classification, domain: a.domain, columns: {} };
    data.tables[`${a.store}/${a.database}/${a.table_name}`] = table;
    byId.set(a.id, table);
  }
  for (const c of columns) byId.get(c.asset_id)!.columns[c.name] = { classification: c.classification, pii_type: c.pii_type, masking_rule: c.masking_rule };
  for (const r of rules) data.masking_rules[r.name] = { strategy: r.strategy, params: r.params };
  for (const r of ranks) data.classification_ranks[r.name] = r.rank;
  for (const g of grants) {
    (data.grants[g.principal] ??= []).push({
      id: g.id,
      scope: g.scope,
      domain: g.domain,
      store: g.store,
      database: g.database,
      table: g.table_name,
      columns: g.columns,
      permissions: g.permissions,
      purpose: g.purpose,
      expires_at: epochSeconds(g.expires_at),
    });
  }
  return data;
}
