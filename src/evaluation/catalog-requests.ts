import type { Knex } from 'knex';

/**
 * The durable side of fresh verdicts (src/evaluation/catalog-evaluation.ts): what a catalog change
 * writes in its own transaction, and how evaluations serialise. Kept free of app imports, since every
 * module that changes the catalog imports it.
 */

/** The entities whose changes can alter what the catalog rules read (src/evaluation/catalog-input.ts). */
export const CATALOG_ENTITIES: ReadonlySet<string> = new Set(['assets', 'masking-rules', 'classifications', 'retention-policies', 'domains', 'access-requests', 'access-grants', 'demo']);

const LOCK = 'custos:catalog-evaluation';

/** Records, in the changing transaction, that the catalog changed; returns whether `entity` is part of it. */
export async function requestCatalogEvaluation(trx: Knex.Transaction, entity: string): Promise<boolean> {
  if (!CATALOG_ENTITIES.has(entity)) return false;
  await trx('catalog_evaluation_requests').insert({ entity });
  return true;
}

/**
 * Serialises a transaction with catalog evaluations: a run's evaluation takes it before writing its
 * findings, so the two never interleave, and each reads its finished_at under it.
 */
export async function lockCatalogEvaluations(trx: Knex.Transaction): Promise<void> {
  await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [LOCK]);
}

/**
 * Called by a run's evaluation, under the lock, just before it commits: if the catalog is still the
 * one it evaluated (`currentSha256` reads it now), the requests committed so far are covered and go;
 * if it changed while the evaluation ran, a catalog evaluation is requested, so the stale catalog
 * verdicts about to commit are replaced next. Returns whether one was requested.
 */
export async function settleCatalogRequests(trx: Knex.Transaction, evaluatedSha256: string, currentSha256: () => Promise<string>): Promise<boolean> {
  // Requests first, then the catalog: every request read was committed before the catalog was read.
  const pending = (await trx('catalog_evaluation_requests').select('id')).map((r: { id: string }) => r.id);
  if ((await currentSha256()) !== evaluatedSha256) {
    await trx('catalog_evaluation_requests').insert({ entity: 'evaluation' });
    return true;
  }
  if (pending.length) await trx('catalog_evaluation_requests').whereIn('id', pending).delete();
  return false;
}
