import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { approvedGrantsForPolicy } from '../access/grants/index.js';
import type { PolicyInput } from '../policy/input.js';

/** The metadata repository as policies see it: assets with columns and retention in days. */
export async function catalogInput(db: Knex): Promise<{ catalog: PolicyInput['catalog']; sha256: string }> {
  const assets = await db('assets as a')
    .leftJoin('retention_policies as r', 'r.name', 'a.retention_policy')
    .select('a.id', 'a.store', 'a.database', 'a.table_name', 'a.classification', 'a.domain', 'a.location', 'a.retention_policy', 'r.period_days')
    .orderBy('a.id');
  const columns = await db('asset_columns').select('asset_id', 'name', 'classification', 'pii_type', 'masking_rule').orderBy(['asset_id', 'position']);
  const byAsset = new Map<string, PolicyInput['catalog']['assets'][number]['columns']>();
  for (const { asset_id, ...column } of columns) {
    if (!byAsset.has(asset_id)) byAsset.set(asset_id, []);
    byAsset.get(asset_id)!.push(column);
  }
  const catalog: PolicyInput['catalog'] = {
    assets: assets.map((a) => ({
      store: a.store,
      database: a.database,
      table: a.table_name,
      classification: a.classification,
      domain: a.domain,
      location: a.location,
      retention_policy: a.retention_policy,
      retention_days: a.period_days ?? null,
      columns: byAsset.get(a.id) ?? [],
    })),
    approved_grants: await approvedGrantsForPolicy(db),
  };
  return { catalog, sha256: createHash('sha256').update(JSON.stringify(catalog)).digest('hex') };
}
