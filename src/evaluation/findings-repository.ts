import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { paginate, type Page, type PageParams } from '../db/pagination.js';
import type { Violation } from '../policy/input.js';
import { FINDING_TYPE } from '../sources/coverage.js';

/** A row of `findings`; with its sighting (`withSightings`) it is a `Finding`, as the API shows it. */
export interface FindingRow {
  id: string;
  fingerprint: string;
  rule_id: string;
  severity: string;
  controls: string[];
  msg: string;
  rule: Record<string, unknown>;
  resource_type: string;
  resource_id: string;
  account: string;
  region: string;
  status: 'open' | 'resolved' | 'excepted';
  /** The exception that covers it, or last covered it. */
  exception_id: string | null;
  /** When its exception expired or was revoked and it reopened; null while excepted. */
  exception_expired_at: string | null;
  first_seen_at: string;
  resolved_at: string | null;
  /** null for findings raised outside an evaluation (data quality rules). */
  first_evaluation_id: string | null;
}

/** A finding with its sighting (`finding_sightings`, migration 037). */
export interface Finding extends FindingRow {
  last_seen_at: string;
  last_evaluation_id: string | null;
}

/** One finding per rule and resource, however many evaluations report it. */
export function fingerprintOf(v: Violation): string {
  const { type, id, account, region } = v.resource;
  return createHash('sha256').update([v.id, type, id, account, region].join('\u0000')).digest('hex');
}

/**
 * Records an evaluation's violations: new ones open, known ones refresh (and reopen if resolved).
 * Returns the ids of the findings reported and how many were new or reopened.
 */
export async function upsertFindings(trx: Knex.Transaction, evaluationId: string, seenAt: string, violations: Violation[]) {
  // One violation per fingerprint; of several (two reasons about one resource), the greatest message,
  // whatever order they came in: an estate evaluated whole, in parts or incrementally records the same.
  const unique = new Map<string, Violation>();
  for (const v of violations) {
    const fingerprint = fingerprintOf(v);
    const known = unique.get(fingerprint);
    if (!known || known.msg < v.msg || (known.msg === v.msg && JSON.stringify(known) < JSON.stringify(v))) unique.set(fingerprint, v);
  }
  const rows = [...unique].map(([fingerprint, v]) => ({
    id: uuidv7(),
    fingerprint,
    rule_id: v.id,
    severity: v.severity,
    controls: v.controls,
    msg: v.msg,
    rule: v.rule,
    resource_type: v.resource.type,
    resource_id: v.resource.id,
    account: v.resource.account,
    region: v.resource.region,
  }));
  const ids: string[] = [];
  let created = 0;
  let reopened = 0;
  for (let i = 0; i < rows.length; i += 2_000) {
    // A new finding's sighting is inserted with it (migration 037); a known one's is updated here.
    const { rows: result } = await trx.raw(
      `WITH upserted AS (
         INSERT INTO findings (id, fingerprint, rule_id, severity, controls, msg, rule, resource_type, resource_id, account, region,
                               status, first_seen_at, first_evaluation_id)
         SELECT x.id, x.fingerprint, x.rule_id, x.severity, x.controls, x.msg, x.rule, x.resource_type, x.resource_id, x.account, x.region,
                'open', :seen, :evaluation
         FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(id uuid, fingerprint text, rule_id text, severity text, controls jsonb, msg text,
                                                    rule jsonb, resource_type text, resource_id text, account text, region text)
         ON CONFLICT (fingerprint) DO UPDATE SET
           severity = excluded.severity, controls = excluded.controls, msg = excluded.msg, rule = excluded.rule,
           status = 'open', resolved_at = NULL
         RETURNING id, (xmax = 0) AS inserted,
           (SELECT status FROM findings f WHERE f.fingerprint = findings.fingerprint) AS previous
       ), seen AS (
         UPDATE finding_sightings s SET last_seen_at = :seen, last_evaluation_id = :evaluation
         FROM upserted u WHERE s.finding_id = u.id AND NOT u.inserted
       )
       SELECT * FROM upserted`,
      { rows: JSON.stringify(rows.slice(i, i + 2_000)), seen: seenAt, evaluation: evaluationId },
    );
    for (const row of result as Array<{ id: string; inserted: boolean; previous: string }>) {
      ids.push(row.id);
      if (row.inserted) created++;
      else if (row.previous === 'resolved') reopened++;
    }
  }
  for (let i = 0; i < ids.length; i += 5_000) {
    await trx.raw(
      `INSERT INTO evaluation_findings (evaluation_id, finding_id) SELECT ?, unnest(?::uuid[]) ON CONFLICT DO NOTHING`,
      [evaluationId, ids.slice(i, i + 5_000)],
    );
  }
  return { ids, created, reopened };
}

/** What an incremental evaluation carries over from its base (src/evaluation/partition.ts decides it). */
export interface Reuse {
  evaluationId: string;
  runId: string;
  /** Resource rules whose verdicts on unchanged items stand, but on items of `freshTypes`. */
  rules: string[];
  freshTypes: string[];
  /** Account rules whose verdicts stand in every account but those paired with them in `fresh` (where their items changed). */
  accounts: { rules: string[]; fresh: Array<{ rule: string; account: string }> };
  /**
   * The items that differ between the base run and this run (partition.ts, changedItems), each as
   * kind, unit separator (U+001F), key: a resource rule's verdict on any other item stands.
   */
  changed: string[];
  /** The base's reported findings that stand (standingFindings): what reuseFindings carries over. */
  findingIds: string[];
}

/** The account rules reused, and the pairs of rule and account judged afresh, each as rule, unit separator (U+001F), account. */
const accountPairs = (reuse: Pick<Reuse, 'accounts'>) => ({
  accountRules: reuse.accounts.rules,
  freshPairs: reuse.accounts.fresh.map((p) => `${p.rule}\u001f${p.account}`),
});
/**
 * SQL: the row (alias `alias`, its rule and account columns) is of a reused account rule, in an
 * account where it stands. One array test per row, which PostgreSQL hashes (15 and later), rather
 * than an anti-join with the unnested pairs: that compared every row with every pair (6,000 rows ×
 * 137 pairs took 280 ms of a re-evaluation in bench:evaluate).
 */
const accountStands = (alias: string, account: string) => `${alias}.rule_id = ANY(CAST(:accountRules AS text[]))
         AND ${alias}.rule_id || chr(31) || ${account} <> ALL(CAST(:freshPairs AS text[]))`;

/** SQL: the item, as kind, unit separator, key, that a violation of a resource rule recorded as finding `f` is about. */
const itemOfFinding = `CASE WHEN f.resource_type = :findingType THEN 'finding' || chr(31) || f.resource_id
            ELSE 'resource' || chr(31) || f.resource_type || '|' || f.account || '|' || f.region || '|' || f.resource_id END`;

/**
 * Incremental evaluation (src/evaluation/partition.ts): the ids of the base evaluation's reported
 * findings whose verdicts stand. `resource`: those of the reusable resource rules, of no fresh type,
 * about an item that does not differ between the runs (not in `changed`: every item that was added,
 * removed, changed or moved, or has no hash, is). A resource rule's violation is always about an item
 * of its part (the scope's promise, checked), so each such finding's item was in the base run, and
 * is in this one unchanged. `account`: those of each reusable account rule in the accounts where its
 * items are unchanged (every account but those paired with it in `accounts.fresh`). Everything this
 * reads is immutable once written (a finished evaluation's membership, a finding's rule and
 * resource), so it is read before the evaluation's writing transaction, on a connection of its own,
 * while the changed items are judged: PostgreSQL does it on the other core.
 */
export async function standingFindings(db: Knex, reuse: Omit<Reuse, 'findingIds'>, part: 'resource' | 'account'): Promise<string[]> {
  const { rows } =
    part === 'resource'
      ? await db.raw(
          `SELECT f.id FROM evaluation_findings ef JOIN findings f ON f.id = ef.finding_id
           WHERE ef.evaluation_id = :base AND ef.reported
             AND f.rule_id = ANY(CAST(:rules AS text[])) AND NOT f.resource_type = ANY(CAST(:fresh AS text[]))
             AND ${itemOfFinding} <> ALL(CAST(:changed AS text[]))`,
          { base: reuse.evaluationId, rules: reuse.rules, fresh: reuse.freshTypes, changed: reuse.changed, findingType: FINDING_TYPE },
        )
      : await db.raw(
          `SELECT f.id FROM evaluation_findings ef JOIN findings f ON f.id = ef.finding_id
           WHERE ef.evaluation_id = :base AND ef.reported AND ${accountStands('f', 'f.account')}`,
          { base: reuse.evaluationId, ...accountPairs(reuse) },
        );
  return (rows as Array<{ id: string }>).map((r) => r.id);
}

/**
 * Incremental evaluation: carries over the base's findings that stand (`findingIds`, from
 * standingFindings), as an upsert of the same violation would: reported by this evaluation, seen at
 * `seenAt`, open again if it was resolved (or excepted: applyExceptions excepts it again). Nothing
 * is read back: one statement. Returns how many were carried over and how many of them were
 * resolved before.
 */
export async function reuseFindings(trx: Knex.Transaction, evaluationId: string, seenAt: string, findingIds: string[]): Promise<{ reused: number; reopened: number }> {
  if (findingIds.length === 0) return { reused: 0, reopened: 0 };
  // The sightings are updated, not the findings (narrow rows: migration 037); a finding's own row is
  // rewritten only when it was not open (resolved, or excepted until applyExceptions excepts it again).
  const { rows } = await trx.raw(
    `WITH seen AS (
       UPDATE finding_sightings s SET last_seen_at = :seen, last_evaluation_id = :evaluation
       WHERE s.finding_id = ANY(CAST(:ids AS uuid[]))
       RETURNING s.finding_id AS id
     ), closed AS (
       SELECT f.id, f.status FROM findings f WHERE f.id = ANY(CAST(:ids AS uuid[])) AND f.status <> 'open'
     ), reopened AS (
       UPDATE findings f SET status = 'open', resolved_at = NULL FROM closed c WHERE f.id = c.id
     ), recorded AS (
       INSERT INTO evaluation_findings (evaluation_id, finding_id) SELECT :evaluation, id FROM seen ON CONFLICT DO NOTHING
     )
     SELECT (SELECT count(*) FROM seen)::int AS reused, (SELECT count(*) FROM closed WHERE status = 'resolved')::int AS reopened`,
    { ids: findingIds, seen: seenAt, evaluation: evaluationId },
  );
  return { reused: rows[0].reused, reopened: rows[0].reopened };
}

/**
 * What a violation that begins later is about: for a resource rule, the run item (a Security Hub
 * finding by its id, a resource by type|account|region|id); for an account rule, its account.
 */
function itemOf(v: Violation, scope: 'resource' | 'account'): { item_kind: 'finding' | 'resource' | 'account'; item_key: string } {
  const { type, id, account, region } = v.resource;
  if (scope === 'account') return { item_kind: 'account', item_key: account };
  return type === FINDING_TYPE ? { item_kind: 'finding', item_key: id } : { item_kind: 'resource', item_key: `${type}|${account}|${region}|${id}` };
}

/** One violation that begins later, as a row of JSON text (what storePendingViolations writes, without its rule's metadata). */
export function pendingRow(v: Violation, scope: 'resource' | 'account'): string {
  const { rule: _rule, ...violation } = v;
  return JSON.stringify({ rule_id: v.id, resource_type: v.resource.type, ...itemOf(v, scope), violates_after: v.violates_after, violation });
}

/**
 * Keeps the violations of an evaluation that begin after its `now` (src/evaluation/time-bound.ts;
 * rows from pendingRow), so that the next evaluation can report them when they begin without
 * judging their items again. One statement per 5,000 rows, each a JSON array.
 */
export async function storePendingViolations(trx: Knex.Transaction, evaluationId: string, rows: string[]): Promise<number> {
  for (let i = 0; i < rows.length; i += 5_000) {
    await trx.raw(
      `INSERT INTO evaluation_pending_violations (evaluation_id, rule_id, resource_type, item_kind, item_key, violates_after, violation)
       SELECT :evaluation, x.rule_id, x.resource_type, x.item_kind, x.item_key, x.violates_after, x.violation
       FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(rule_id text, resource_type text, item_kind text, item_key text, violates_after double precision, violation jsonb)`,
      { evaluation: evaluationId, rows: `[${rows.slice(i, i + 5_000).join(',')}]` },
    );
  }
  return rows.length;
}

/**
 * Drops the pending violations that no evaluation will read again: those of every evaluation but
 * `evaluationId` (about to commit, and so the next one's base) and the recorded bases of the
 * evaluations still queued or running (`evaluations.base_evaluation_id`, chosen under the same
 * lock: src/evaluation/evaluate.ts). Without it the table grew by every evaluation's pending
 * violations (15,000 rows each in bench:evaluate). Returns how many rows went.
 */
export async function prunePendingViolations(trx: Knex.Transaction, evaluationId: string): Promise<number> {
  const { rowCount } = await trx.raw(
    `DELETE FROM evaluation_pending_violations p
     WHERE p.evaluation_id <> :evaluation
       AND NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.base_evaluation_id = p.evaluation_id AND e.status IN ('queued', 'running') AND e.id <> :evaluation)`,
    { evaluation: evaluationId },
  );
  return rowCount ?? 0;
}

/**
 * Incremental: the base evaluation's pending violations that stand, as standingFindings chooses them:
 * of resource rules of `reuse.rules` (not of its fresh types) on items unchanged since its run, and
 * of reused account rules in the accounts where they stand. Those that hold at `now` are
 * returned, with their rule's metadata, to be reported as this evaluation's own; the others stay
 * pending for this evaluation. Nothing else is carried: a changed item or account was judged again,
 * and its violations are fresh.
 */
export async function carryPendingViolations(
  trx: Knex.Transaction,
  evaluationId: string,
  now: number,
  reuse: Omit<Reuse, 'findingIds'>,
  rules: ReadonlyMap<string, object>,
): Promise<Violation[]> {
  const { rows } = await trx.raw(
    `WITH carried AS (
       SELECT p.* FROM evaluation_pending_violations p
       WHERE p.evaluation_id = :base AND p.rule_id = ANY(CAST(:rules AS text[])) AND NOT p.resource_type = ANY(CAST(:fresh AS text[]))
         AND p.item_kind || chr(31) || p.item_key <> ALL(CAST(:changed AS text[]))
       UNION ALL
       SELECT p.* FROM evaluation_pending_violations p
       WHERE p.evaluation_id = :base AND p.item_kind = 'account'
         AND ${accountStands('p', 'p.item_key')}
     ), kept AS (
       INSERT INTO evaluation_pending_violations (evaluation_id, rule_id, resource_type, item_kind, item_key, violates_after, violation)
       SELECT :evaluation, rule_id, resource_type, item_kind, item_key, violates_after, violation FROM carried WHERE NOT :now > violates_after
     )
     SELECT violation FROM carried WHERE :now > violates_after`,
    { base: reuse.evaluationId, rules: reuse.rules, fresh: reuse.freshTypes, changed: reuse.changed, ...accountPairs(reuse), evaluation: evaluationId, now },
  );
  const begun = (rows as Array<{ violation: Omit<Violation, 'rule'> }>).map(({ violation }) => {
    const rule = rules.get(violation.id);
    // Same bundle revision as the base (reuse requires it): every rule is known.
    if (!rule) throw new Error(`pending violation of rule ${violation.id}, which the bundle does not have`);
    return { ...violation, rule: rule as Violation['rule'] };
  });
  if (begun.length === 0) return begun;
  // A rule may report several violations about one item (two access keys of a user), recorded as one
  // finding with the greatest message. Where the base already reported that finding, its violation
  // goes with the ones that begin now, so the message chosen is the one a full evaluation chooses.
  const reportedBefore: Array<Pick<Finding, 'rule_id' | 'severity' | 'controls' | 'msg' | 'rule' | 'resource_type' | 'resource_id' | 'account' | 'region'>> = await trx('findings as f')
    .join('evaluation_findings as ef', 'ef.finding_id', 'f.id')
    .where({ 'ef.evaluation_id': reuse.evaluationId, 'ef.reported': true })
    .whereIn('f.fingerprint', [...new Set(begun.map(fingerprintOf))])
    .select('f.rule_id', 'f.severity', 'f.controls', 'f.msg', 'f.rule', 'f.resource_type', 'f.resource_id', 'f.account', 'f.region');
  return [
    ...begun,
    ...reportedBefore.map((f) => ({
      id: f.rule_id,
      severity: f.severity as Violation['severity'],
      controls: f.controls,
      msg: f.msg,
      resource: { type: f.resource_type, id: f.resource_id, account: f.account, region: f.region },
      rule: f.rule,
    })),
  ];
}

/** Whether the run listed type `t` completely where finding `f` is (any region of its account for account-level findings, region ''). */
const covered = (type: string) => `(EXISTS (SELECT 1 FROM run_coverage c WHERE c.run_id = :run AND c.account = f.account AND (c.region = f.region OR f.region = '') AND c.resource_type = ${type} AND c.complete)
      AND NOT EXISTS (SELECT 1 FROM run_coverage c WHERE c.run_id = :run AND c.account = f.account AND (c.region = f.region OR f.region = '') AND c.resource_type = ${type} AND NOT c.complete))`;

/**
 * Resolves open (or excepted) findings this evaluation no longer reports, but only where the run
 * listed what the finding is about completely, in the finding's account and region: its resource type
 * when that is one of its rule's types, else (a finding about the account, say) every type of its
 * rule. No service of the run may have listed it incompletely there. Catalog findings (Custos:: types)
 * always resolve, since every evaluation reads the whole catalog. Not seeing something is evidence of
 * its absence only where everything was looked at.
 */
export async function resolveUnreported(trx: Knex.Transaction, evaluationId: string, runId: string, resolvedAt: string): Promise<number> {
  const { rowCount } = await trx.raw(
    // The unreported findings first, materialised, then the coverage test on them alone: planned
    // as one statement, PostgreSQL ran the coverage's two index probes for every open finding
    // before the cheap tests (the findings' statistics are stale mid-evaluation), 0.35-0.4 s of a
    // re-evaluation in bench:evaluate for 90 findings resolved; 4 ms this way.
    `WITH unreported AS MATERIALIZED (
       SELECT f.id FROM findings f JOIN finding_sightings s ON s.finding_id = f.id
       WHERE f.status IN ('open', 'excepted')
         -- Every finding this evaluation reported has it as last_evaluation_id (upsertFindings,
         -- reuseFindings): a cheap first test, whatever the planner makes of the NOT EXISTS.
         AND s.last_evaluation_id IS DISTINCT FROM :evaluation
         AND NOT EXISTS (SELECT 1 FROM evaluation_findings ef WHERE ef.evaluation_id = :evaluation AND ef.finding_id = f.id)
     ), resolved AS (
     UPDATE findings f SET status = 'resolved', resolved_at = :at
     FROM unreported u
     WHERE f.id = u.id AND f.status IN ('open', 'excepted')
       AND (f.resource_type LIKE 'Custos::%'
            OR (f.rule->'resource_types' @> to_jsonb(f.resource_type) AND ${covered('f.resource_type')})
            OR (NOT f.rule->'resource_types' @> to_jsonb(f.resource_type) AND jsonb_array_length(f.rule->'resource_types') > 0
                AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(f.rule->'resource_types') AS t(type) WHERE NOT ${covered('t.type')})))
     RETURNING f.id
     )
     UPDATE finding_sightings s SET last_evaluation_id = :evaluation FROM resolved r WHERE s.finding_id = r.id`,
    { at: resolvedAt, evaluation: evaluationId, run: runId },
  );
  return rowCount ?? 0;
}

/**
 * Records every finding still open or excepted that this evaluation did not report as carried
 * (`reported = false`, with the exception that still covers it): it was not seen, so it was not
 * resolved, and it fails its controls at this evaluation as before.
 */
export async function carryOpenFindings(trx: Knex.Transaction, evaluationId: string): Promise<number> {
  const { rowCount } = await trx.raw(
    `INSERT INTO evaluation_findings (evaluation_id, finding_id, reported, exception_id)
     SELECT :evaluation, f.id, false, CASE WHEN f.status = 'excepted' THEN f.exception_id END
       FROM findings f WHERE f.status IN ('open', 'excepted')
     ON CONFLICT DO NOTHING`,
    { evaluation: evaluationId },
  );
  return rowCount ?? 0;
}

export interface FindingFilters extends PageParams {
  rule_id?: string;
  resource_id?: string;
  evaluation_id?: string;
  /** Deprecated aliases of rule_id, resource_id, evaluation_id. */
  rule?: string;
  severity?: string;
  control?: string;
  resource?: string;
  resource_type?: string;
  status?: string;
  account?: string;
  region?: string;
  evaluation?: string;
}

export async function listFindings(db: Knex, filters: FindingFilters): Promise<Page<Finding>> {
  const query = withSightings(db);
  const rule = filters.rule_id ?? filters.rule;
  const resource = filters.resource_id ?? filters.resource;
  const evaluation = filters.evaluation_id ?? filters.evaluation;
  if (rule) query.where('rule_id', rule);
  if (resource) query.where('resource_id', resource);
  for (const field of ['severity', 'resource_type', 'status', 'account', 'region'] as const) if (filters[field]) query.where(field, filters[field]);
  if (filters.control) query.whereRaw('controls @> ?::jsonb', [JSON.stringify([filters.control])]);
  if (evaluation) query.whereIn('id', db('evaluation_findings').select('finding_id').where({ evaluation_id: evaluation, reported: true }));
  return paginate<Finding & Record<string, unknown>>(query, filters);
}

export async function getFinding(db: Knex, id: string): Promise<Finding | undefined> {
  return withSightings(db).where({ id }).first();
}

/** Findings with their sightings (migration 037), as the API shows them. */
export function withSightings(db: Knex): Knex.QueryBuilder {
  return db('findings').join('finding_sightings', 'finding_sightings.finding_id', 'findings.id').select('findings.*', 'finding_sightings.last_seen_at', 'finding_sightings.last_evaluation_id');
}

/**
 * A finding raised outside a policy evaluation (a data quality rule that failed): opened, or
 * refreshed and reopened if it was resolved; an excepted one stays excepted. It has no evaluation,
 * and its resource is not an AWS account's, so no evaluation's scoped resolution ever touches it.
 */
export async function raiseFinding(trx: Knex.Transaction, v: Violation, seenAt: string): Promise<{ id: string; created: boolean; reopened: boolean }> {
  const { rows } = await trx.raw(
    `WITH raised AS (
       INSERT INTO findings (id, fingerprint, rule_id, severity, controls, msg, rule, resource_type, resource_id, account, region, status, first_seen_at)
       VALUES (:id, :fingerprint, :rule_id, :severity, CAST(:controls AS jsonb), :msg, CAST(:rule AS jsonb), :type, :resource, :account, :region, 'open', :seen)
       ON CONFLICT (fingerprint) DO UPDATE SET
         severity = excluded.severity, controls = excluded.controls, msg = excluded.msg, rule = excluded.rule,
         status = CASE WHEN findings.status = 'excepted' THEN 'excepted' ELSE 'open' END, resolved_at = NULL
       RETURNING id, (xmax = 0) AS inserted, (SELECT status FROM findings f WHERE f.fingerprint = findings.fingerprint) AS previous
     ), seen AS (
       UPDATE finding_sightings s SET last_seen_at = :seen FROM raised r WHERE s.finding_id = r.id AND NOT r.inserted
     )
     SELECT * FROM raised`,
    {
      id: uuidv7(),
      fingerprint: fingerprintOf(v),
      rule_id: v.id,
      severity: v.severity,
      controls: JSON.stringify(v.controls),
      msg: v.msg,
      rule: JSON.stringify(v.rule),
      type: v.resource.type,
      resource: v.resource.id,
      account: v.resource.account,
      region: v.resource.region,
      seen: seenAt,
    },
  );
  const row = rows[0] as { id: string; inserted: boolean; previous: string };
  return { id: row.id, created: row.inserted, reopened: !row.inserted && row.previous === 'resolved' };
}

/** Resolves the one finding of a rule and resource (by fingerprint), if open or excepted; returns its id. */
export async function resolveFinding(trx: Knex.Transaction, v: Pick<Violation, 'id' | 'resource'>, resolvedAt: string): Promise<string | undefined> {
  const [row] = await trx('findings')
    .where({ fingerprint: fingerprintOf(v as Violation) })
    .whereIn('status', ['open', 'excepted'])
    .update({ status: 'resolved', resolved_at: resolvedAt })
    .returning('id');
  return row?.id;
}
