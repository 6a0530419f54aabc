import type { Knex } from 'knex';

/**
 * When exception `e` covers finding `f`: the same rule, and either that very finding or a resource
 * id matching the glob (`*`, `?`; turned into LIKE with its own metacharacters escaped) within the
 * account and region, when given. chr(42) is `*` and chr(63) `?`: a literal `?` would be a binding.
 */
const COVERS = `e.rule_id = f.rule_id AND (e.finding_id = f.id OR (e.finding_id IS NULL
  AND f.resource_id LIKE replace(replace(replace(replace(replace(e.resource_pattern, '\\', '\\\\'), '%', '\\%'), '_', '\\_'), chr(42), '%'), chr(63), '_') ESCAPE '\\'
  AND (e.account IS NULL OR e.account = f.account) AND (e.region IS NULL OR e.region = f.region)))`;

/** The exception that applies to finding `f` now: approved, unexpired, covering it; the longest-lasting wins. */
const APPLYING = `(SELECT e.id FROM exceptions e WHERE e.status = 'approved' AND e.expires_at > now() AND ${COVERS}
  ORDER BY e.expires_at DESC, e.id LIMIT 1)`;

/**
 * Turns the open findings among `findingIds` (a raw subquery of finding ids) `excepted` by the exception
 * that applies to each now. With `evaluationId`, also records on evaluation_findings which exception
 * applied when that evaluation saw them. Returns the ids of the findings excepted.
 */
async function exceptOpenFindings(trx: Knex.Transaction, findingIds: Knex.Raw, evaluationId?: string): Promise<string[]> {
  const { rows } = await trx.raw(
    `WITH matched AS (
       SELECT f.id, ${APPLYING} AS exception_id FROM findings f WHERE f.status = 'open' AND f.id IN (:ids)
         -- Only findings of a rule some applying exception names (COVERS requires the same rule): the
         -- lookup per finding is then skipped for the others (23,800 lookups, 0.2-0.3 s in a
         -- re-evaluation of bench:evaluate, which has no exception).
         AND f.rule_id IN (SELECT e.rule_id FROM exceptions e WHERE e.status = 'approved' AND e.expires_at > now())
     ), excepted AS (
       UPDATE findings f SET status = 'excepted', exception_id = m.exception_id, exception_expired_at = NULL
       FROM matched m WHERE f.id = m.id AND m.exception_id IS NOT NULL
       RETURNING f.id, f.exception_id
     ), recorded AS (
       UPDATE evaluation_findings ef SET exception_id = x.exception_id FROM excepted x
       WHERE ef.evaluation_id = :evaluation AND ef.finding_id = x.id
     )
     SELECT id FROM excepted ORDER BY id`,
    { ids: findingIds, evaluation: evaluationId ?? null },
  );
  return rows.map((r: { id: string }) => r.id);
}

/** At approval: the open findings the exception covers become excepted. */
export function exceptCoveredFindings(trx: Knex.Transaction, exceptionId: string): Promise<string[]> {
  return exceptOpenFindings(trx, trx.raw(`SELECT f.id FROM findings f JOIN exceptions e ON e.id = ? AND ${COVERS}`, [exceptionId]));
}

/**
 * In an evaluation, after its findings were recorded (as open): those an exception covers now become
 * excepted, and evaluation_findings says which exception applied. A finding seen again whose
 * exception lapsed before the expiry sweep ran is flagged like the sweep flags it.
 */
export async function applyExceptions(trx: Knex.Transaction, evaluationId: string): Promise<number> {
  const seen = trx.raw('SELECT finding_id FROM evaluation_findings WHERE evaluation_id = ?', [evaluationId]);
  const excepted = await exceptOpenFindings(trx, seen, evaluationId);
  await trx.raw(
    `UPDATE findings f SET exception_expired_at = now()
     FROM exceptions e
     WHERE e.id = f.exception_id AND f.status = 'open' AND f.exception_expired_at IS NULL
       AND (e.status <> 'approved' OR e.expires_at <= now())
       AND f.id IN (SELECT finding_id FROM evaluation_findings WHERE evaluation_id = ?)`,
    [evaluationId],
  );
  return excepted.length;
}

/**
 * When an exception is revoked or expires: its excepted findings reopen, flagged with
 * exception_expired_at, unless another exception now covers them. Returns the ids reopened.
 */
export async function reopenFindings(trx: Knex.Transaction, exceptionId: string): Promise<string[]> {
  const { rows } = await trx.raw(
    `UPDATE findings SET status = 'open', exception_expired_at = now() WHERE exception_id = ? AND status = 'excepted' RETURNING id`,
    [exceptionId],
  );
  const reopened: string[] = rows.map((r: { id: string }) => r.id).sort();
  if (reopened.length === 0) return [];
  const stillExcepted = new Set(await exceptOpenFindings(trx, trx.raw('SELECT unnest(?::uuid[])', [reopened])));
  return reopened.filter((id) => !stillExcepted.has(id));
}
