import type { Knex } from 'knex';
import { shippedCatalog } from '../controls/catalog.js';
import { runDigests, storeItemCounts, storeSliceDigests } from '../sources/run-store.js';
import { appendEvidence } from './chain.js';

/**
 * One evidence item per control whose catalog entry collects `collection-runs`, for a finished run:
 * when the state was observed, from which sources, accounts, regions and services, what it held
 * (counts per resource type, and a SHA-256 digest of every stored item's key and content hash that
 * GET /v1/collections/:id/resources lets an auditor recompute), and the gaps that made it partial.
 * Written in the transaction that finishes the run, with the digest of each slice of its items
 * (run_slice_digests) that evaluations of the run name in their evidence, and its item counts per
 * kind, type, account and region (run_item_counts) that they read instead of counting its items.
 */
export async function recordCollectionEvidence(trx: Knex.Transaction, runId: string): Promise<number> {
  const run = await trx('collection_runs').where({ id: runId }).first();
  const sources: Array<{ name: string; account_id: string; region: string; services: string[] }> = run.source_ids?.length
    ? await trx('sources').select('name', 'account_id', 'region', 'services').whereIn('id', run.source_ids).orderBy('name')
    : [];
  const { all, slices, counts } = await runDigests(trx, runId);
  await storeSliceDigests(trx, runId, slices);
  await storeItemCounts(trx, runId, counts);
  const observedAt = new Date(run.observed_at).toISOString();
  const body = {
    run: { id: run.id, trigger: run.trigger, status: run.status, requested_by: run.requested_by, observed_at: observedAt },
    sources: run.trigger === 'file' || run.trigger === 'demo' ? [{ name: `${run.trigger} import`, account_id: null, region: null, services: [] }] : sources,
    gaps: run.gaps ?? [],
    collected: all,
  };
  const controls = shippedCatalog().controls.filter((c) => (c.evidence as readonly string[]).includes('collection-runs'));
  await appendEvidence(trx, controls.map((c) => ({ control_id: c.id, kind: 'collection' as const, source_id: run.id, collected_at: observedAt, bundle_revision: null, body })));
  return controls.length;
}
