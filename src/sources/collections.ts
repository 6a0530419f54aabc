import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { recordCollectionEvidence } from '../evidence/collection-evidence.js';
import { recordAudit, type AuditContext } from '../audit/repository.js';
import { HttpProblem } from '../http/problem.js';
import { collectorContext, describeAwsError } from './aws.js';
import type { AwsThrottle } from './throttle.js';
import { COLLECTORS, collectorNamed } from './collectors/index.js';
import { storeCoverage, type CoverageRow } from './coverage.js';
import { assertAccount } from './identity.js';
import { storeItemChunks, storeRunState, type RunState } from './run-store.js';
import { PreparedSnapshot, prepareSnapshot } from './snapshot.js';

export interface CollectionRun {
  id: string;
  status: 'queued' | 'running' | 'complete' | 'partial' | 'failed';
  trigger: 'api' | 'schedule' | 'file' | 'demo';
  requested_by: string;
  source_ids: string[];
  since: number | null;
  progress: RunProgress;
  counts: Record<string, Record<string, number>>;
  gaps: string[];
  error: string | null;
  observed_at: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/**
 * How far a run is, in units (one per source and service): `done` collected, `failed` given up after
 * every attempt (each is a gap of the run), `running` now, `queued` not started, `retried` took more
 * than one attempt; `current` names some running units.
 */
export interface RunProgress {
  done: number;
  total: number;
  running?: number;
  queued?: number;
  retried?: number;
  failed?: number;
  current?: string;
}

export interface Source {
  id: string;
  name: string;
  account_id: string;
  region: string;
  role_arn: string | null;
  services: string[];
  enabled: boolean;
}

export const getRun = (db: Knex, id: string): Promise<CollectionRun | undefined> => db('collection_runs').where({ id }).first();

/** Queues a run over the named sources (all enabled ones when none are named). */
export async function createRun(
  trx: Knex.Transaction,
  values: { sourceNames?: string[]; since?: number; trigger: CollectionRun['trigger']; context: AuditContext },
): Promise<CollectionRun> {
  const query = trx('sources').select('id', 'name').where({ enabled: true });
  if (values.sourceNames?.length) query.whereIn('name', values.sourceNames);
  const sources: Array<{ id: string; name: string }> = await query;
  const unknown = (values.sourceNames ?? []).filter((n) => !sources.some((s) => s.name === n));
  if (unknown.length) {
    throw new HttpProblem(400, 'validation-error', `sources: unknown or disabled: ${unknown.join(', ')}`, [{ location: 'body', field: 'sources', message: `unknown or disabled: ${unknown.join(', ')}` }]);
  }
  if (sources.length === 0) throw new HttpProblem(409, 'conflict', 'no enabled source to collect from: register one with POST /v1/sources, or import a snapshot');
  const [run] = await trx('collection_runs')
    .insert({ id: uuidv7(), status: 'queued', trigger: values.trigger, requested_by: values.context.actor, source_ids: JSON.stringify(sources.map((s) => s.id)), since: values.since ?? null })
    .returning('*');
  await recordAudit(trx, values.context, { action: 'start', entity: 'collections', entityId: run.id, newValue: { sources: sources.map((s) => s.name), since: values.since ?? null } });
  return run;
}

const countsOf = (state: RunState) => ({ resources: state.resources.length, findings: state.findings.length, permissions: state.permissions.length, settings: state.settings.length });

/**
 * Imports a snapshot document as a finished run, in one transaction; a malformed one stores nothing.
 * `then` runs in that transaction once the run is stored (the API queues its evaluation there, so a
 * run is never stored without the evaluation that judges it).
 */
export async function importSnapshot(
  db: Knex,
  snapshot: unknown,
  values: { trigger: 'file' | 'demo'; context: AuditContext; then?: (trx: Knex.Transaction, run: CollectionRun) => Promise<unknown> },
): Promise<CollectionRun> {
  // A large request body was checked and prepared in a worker thread (snapshot-import.ts); a
  // document given here is checked now, yielding to the event loop between slices.
  const state = snapshot instanceof PreparedSnapshot ? snapshot.data : await prepareSnapshot(snapshot);
  return db.transaction(async (trx) => {
    const id = uuidv7();
    const observedAt = state.observedAt ?? new Date().toISOString();
    await trx('collection_runs').insert({ id, status: 'running', trigger: values.trigger, requested_by: values.context.actor, observed_at: observedAt, started_at: trx.fn.now() });
    await storeItemChunks(trx, id, state.chunks);
    await storeCoverage(trx, id, state.coverage);
    // A snapshot that declares a listing incomplete is a partial run, like a collection with gaps:
    // it resolves nothing (src/evaluation/evaluate.ts), and its reasons are the run's gaps.
    const gaps = state.coverage.filter((c) => !c.complete).map((c) => `file: ${c.resource_type} in ${c.account}/${c.region} not listed completely: ${c.reason ?? 'incomplete'}`);
    const [run] = await trx('collection_runs')
      .update({ status: gaps.length ? 'partial' : 'complete', gaps: JSON.stringify(gaps), counts: JSON.stringify({ file: state.counts }), progress: JSON.stringify({ done: 1, total: 1 }), finished_at: trx.fn.now() })
      .where({ id })
      .returning('*');
    await recordAudit(trx, values.context, { action: 'import', entity: 'collections', entityId: id, newValue: { trigger: values.trigger, counts: state.counts, observed_at: observedAt } });
    await recordCollectionEvidence(trx, id);
    await values.then?.(trx, run);
    return run;
  });
}

/** One (source, service) of a run: a pg-boss job any instance may take (migration 026). */
export interface CollectionUnit {
  id: string;
  run_id: string;
  source_id: string;
  source_name: string;
  account_id: string;
  region: string;
  service: string;
  position: number;
  status: 'queued' | 'running' | 'done' | 'failed';
  attempts: number;
  claim: string | null;
  claimed_by: string | null;
  output: UnitOutput | null;
  error: string | null;
}

/** What one unit saw: stored with the unit when it is done, merged into the run when the run is finalised. */
export interface UnitOutput extends RunState {
  coverage: CoverageRow[];
  gaps: string[];
  /** Per-service counts; absent when nothing was read (identity refused, collector failed, unit given up). */
  counts?: ReturnType<typeof countsOf>;
}

export interface UnitOptions {
  endpoint?: string;
  maxAttempts?: number;
  /** Who claims units (host, process and a random part), for the `claimed_by` column. */
  instance: string;
  /** This instance's AWS token buckets per account and service (src/sources/throttle.ts). */
  throttle?: AwsThrottle;
}

const FINISHED = ['complete', 'partial', 'failed'];

/**
 * Splits a queued run into its units, one per (source, service), in a fixed order (the run's
 * sources as listed, each source's services as listed): the order the run's outputs are merged in.
 * Idempotent: a retried planning job finds the units of the first one. Returns the units still to
 * collect, for the caller to queue.
 */
export async function planRun(db: Knex, runId: string): Promise<{ run?: CollectionRun; pending: string[] }> {
  return db.transaction(async (trx) => {
    const run: CollectionRun | undefined = await trx('collection_runs').where({ id: runId }).forUpdate().first();
    if (!run || FINISHED.includes(run.status)) return { run, pending: [] };
    if (run.status === 'queued') {
      const sources: Source[] = await trx('sources').whereIn('id', run.source_ids);
      const byId = new Map(sources.map((s) => [s.id, s]));
      const units = run.source_ids
        .flatMap((id) => {
          const source = byId.get(id);
          return source ? source.services.map((service) => ({ source, service })) : [];
        })
        .map(({ source, service }, position) => ({ id: uuidv7(), run_id: runId, source_id: source.id, source_name: source.name, account_id: source.account_id, region: source.region, service, position }));
      for (let i = 0; i < units.length; i += 1_000) await trx('collection_units').insert(units.slice(i, i + 1_000));
      // observed_at is every unit's "now", set once: a unit retried later normalises as of the same time.
      await trx('collection_runs')
        .update({ status: 'running', started_at: trx.fn.now(), observed_at: new Date().toISOString(), gaps: '[]', error: null, progress: JSON.stringify({ done: 0, total: units.length }) })
        .where({ id: runId });
    }
    const pending: Array<{ id: string }> = await trx('collection_units').select('id').where({ run_id: runId }).whereIn('status', ['queued', 'running']).orderBy('position');
    return { run: await trx('collection_runs').where({ id: runId }).first(), pending: pending.map((u) => u.id) };
  });
}

/**
 * Collects one unit, unless it is finished already. The attempt claims the unit with a fresh token
 * (counting the attempt); only the holder of the latest token may complete it, so an attempt that
 * outlived its timeout while another instance took the unit over cannot complete it a second time.
 * Returns the unit's run id (for the caller to try finalising the run), or undefined for no unit.
 */
export async function executeUnit(db: Knex, unitId: string, options: UnitOptions): Promise<string | undefined> {
  const claim = uuidv7();
  const [unit]: CollectionUnit[] = await db('collection_units')
    .update({ status: 'running', attempts: db.raw('attempts + 1'), claim, claimed_by: options.instance, claimed_at: db.fn.now(), error: null })
    .where({ id: unitId })
    .whereIn('status', ['queued', 'running'])
    .returning('*');
  if (!unit) return (await db('collection_units').select('run_id').where({ id: unitId }).first())?.run_id;
  try {
    const output = await collectUnit(db, unit, options);
    // Only this attempt's claim completes the unit: exactly once, whatever was retried.
    await db('collection_units').update({ status: 'done', output: JSON.stringify(output), finished_at: db.fn.now() }).where({ id: unitId, claim, status: 'running' });
  } catch (error) {
    // Kept for the gap if every attempt fails; pg-boss retries the job.
    await db('collection_units').update({ error: errorMessage(error).slice(0, 1000) }).where({ id: unitId, claim, status: 'running' });
    throw error;
  }
  return unit.run_id;
}

/** Every declared type of the unit's collector, not covered, with the reason. */
function uncovered(unit: Pick<CollectionUnit, 'account_id' | 'region' | 'service'>, reason: string): CoverageRow[] {
  const types = Object.hasOwn(COLLECTORS, unit.service) ? COLLECTORS[unit.service]!.resourceTypes : [];
  return types.map((resource_type) => ({ account: unit.account_id, region: unit.region, service: unit.service, resource_type, complete: false, reason }));
}

const emptyUnitOutput = (): UnitOutput => ({ resources: [], findings: [], permissions: [], settings: [], coverage: [], gaps: [] });

async function collectUnit(db: Knex, unit: CollectionUnit, options: UnitOptions): Promise<UnitOutput> {
  const output = emptyUnitOutput();
  const label = `${unit.source_name}/${unit.service}`;
  const run = await getRun(db, unit.run_id);
  const source: Source | undefined = await db('sources').where({ id: unit.source_id }).first();
  if (!run || !source) {
    const gap = 'the source was deleted during the run; nothing read';
    return { ...output, gaps: [`${label}: ${gap}`], coverage: uncovered(unit, gap) };
  }
  const observedAt = run.observed_at ? new Date(run.observed_at) : new Date();
  const context = collectorContext(
    { account: unit.account_id, region: unit.region, roleArn: source.role_arn },
    { endpoint: options.endpoint, now: Math.floor(observedAt.getTime() / 1000), since: run.since ?? undefined, maxAttempts: options.maxAttempts, throttle: options.throttle },
  );
  // The catalogued tables (bounded by the catalog): LF-tag policy permissions are judged against their tags.
  if (unit.service === 'lakeformation') context.catalogTables = await db('assets').distinct('database', 'table_name as table').orderBy(['database', 'table']);
  // The identity is checked before every unit: a refusal is a gap and nothing of the unit is read.
  const refused = await assertAccount(context.aws, unit.account_id, context.throttle).then(
    () => null,
    (error: Error) => error.message,
  );
  if (refused) return { ...output, gaps: [`${label}: ${refused}`], coverage: uncovered(unit, refused) };
  const where = { account: unit.account_id, region: unit.region, service: unit.service };
  try {
    const collected = await collectorNamed(unit.service).collect(context);
    return {
      resources: collected.resources,
      findings: collected.findings,
      permissions: collected.permissions,
      settings: collected.settings,
      coverage: collected.coverage.map((c) => ({ ...where, resource_type: c.resource_type, complete: c.complete, reason: c.complete ? null : (c.reason ?? 'incomplete') })),
      gaps: collected.gaps.map((gap) => `${label}: ${gap}`),
      counts: countsOf(collected),
    };
  } catch (error) {
    // Nothing it declares was listed: no coverage row is missing, each says why.
    const gap = describeAwsError('collect', error);
    return { ...output, gaps: [`${label}: ${gap}`], coverage: uncovered(unit, gap) };
  }
}

/**
 * A unit whose every attempt failed (its job was dead-lettered: errors, or instances that died or
 * timed out holding it): it is finished as a gap of the run, with its types not covered, never
 * silently dropped. Returns its run id.
 */
export async function giveUpUnit(db: Knex, unitId: string): Promise<string | undefined> {
  const unit: CollectionUnit | undefined = await db('collection_units').where({ id: unitId }).first();
  if (!unit) return undefined;
  const reason = `collection failed after ${unit.attempts} attempt${unit.attempts === 1 ? '' : 's'}: ${unit.error ?? 'the instance holding it stopped or its attempt timed out'}`;
  const output: UnitOutput = { ...emptyUnitOutput(), gaps: [`${unit.source_name}/${unit.service}: ${reason}`], coverage: uncovered(unit, reason) };
  await db('collection_units').update({ status: 'failed', output: JSON.stringify(output), finished_at: db.fn.now() }).where({ id: unitId }).whereIn('status', ['queued', 'running']);
  return unit.run_id;
}

/** Live progress of runs, from their units (runs without units keep their stored progress). */
export async function unitProgress(db: Knex, runIds: string[]): Promise<Map<string, RunProgress>> {
  const progress = new Map<string, RunProgress>();
  if (runIds.length === 0) return progress;
  const rows: Array<{ run_id: string; total: number; done: number; running: number; queued: number; failed: number; retried: number; current: string[] | null }> = (
    await db.raw(
      `SELECT run_id, count(*)::int AS total,
              count(*) FILTER (WHERE status = 'done')::int AS done,
              count(*) FILTER (WHERE status = 'running')::int AS running,
              count(*) FILTER (WHERE status = 'queued')::int AS queued,
              count(*) FILTER (WHERE status = 'failed')::int AS failed,
              count(*) FILTER (WHERE attempts > 1)::int AS retried,
              (array_agg(source_name || '/' || service ORDER BY position) FILTER (WHERE status = 'running'))[1:3] AS current
       FROM collection_units WHERE run_id = ANY(?::uuid[]) GROUP BY run_id`,
      [runIds],
    )
  ).rows;
  for (const { run_id, current, ...counts } of rows) {
    progress.set(run_id, { ...counts, ...(current?.length ? { current: current.join(', ') + (counts.running > current.length ? ` and ${counts.running - current.length} more` : '') } : {}) });
  }
  return progress;
}

/**
 * Finishes a run whose units are all done or failed, exactly once however many instances try: the
 * guard is a conditional update of the run row (`running`, no unit left), which holds the row until
 * the transaction ends, so a second finaliser waits and then finds the run finished. The outputs
 * are merged in unit order, so the run's items, coverage, gaps and counts are those a single
 * instance collecting unit after unit would store. `then` runs in the same transaction (the
 * evaluation that follows is created there, so a run is evaluated once). Returns the finished run,
 * or undefined when this call did not finish it.
 */
export async function finaliseRun(db: Knex, runId: string, then?: (trx: Knex.Transaction, run: CollectionRun) => Promise<void>): Promise<CollectionRun | undefined> {
  return db.transaction(async (trx) => {
    const [claimed] = await trx('collection_runs')
      .update({ finished_at: trx.fn.now() })
      .where({ id: runId, status: 'running' })
      .whereNotExists(trx('collection_units').select(trx.raw('1')).where({ run_id: runId }).whereIn('status', ['queued', 'running']))
      .returning('id');
    if (!claimed) return undefined;
    const state: RunState = { resources: [], findings: [], permissions: [], settings: [] };
    const coverage: CoverageRow[] = [];
    const gaps: string[] = [];
    const counts: Record<string, Record<string, number>> = {};
    const progress = { done: 0, total: 0, running: 0, queued: 0, retried: 0, failed: 0 };
    for (let position = 0; ; position += 500) {
      const units: CollectionUnit[] = await trx('collection_units').where({ run_id: runId }).where('position', '>=', position).where('position', '<', position + 500).orderBy('position');
      if (units.length === 0) break;
      for (const unit of units) {
        const output = unit.output!;
        // A loop, not push(...items): spreading 100,000 findings overflows the call stack.
        for (const key of ['resources', 'findings', 'permissions', 'settings'] as const) for (const item of output[key]) (state[key] as unknown[]).push(item);
        for (const row of output.coverage) coverage.push(row);
        gaps.push(...output.gaps);
        if (output.counts) counts[`${unit.source_name}/${unit.service}`] = output.counts;
        progress.total++;
        progress[unit.status === 'done' ? 'done' : 'failed']++;
        if (unit.attempts > 1) progress.retried++;
      }
    }
    await storeRunState(trx, runId, state);
    await storeCoverage(trx, runId, coverage);
    const [finished] = await trx('collection_runs')
      .update({ status: gaps.length ? 'partial' : 'complete', gaps: JSON.stringify(gaps), counts: JSON.stringify(counts), progress: JSON.stringify(progress) })
      .where({ id: runId })
      .returning('*');
    await recordCollectionEvidence(trx, runId);
    await then?.(trx, finished);
    return finished;
  });
}

/**
 * An error's message for an operator: knex prefixes a failed query's message with its SQL
 * (`update "collection_units" set ... - <the database's message>`), which is dropped here.
 */
export function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const cut = message.lastIndexOf(' - ');
  return typeof code === 'string' && cut > 0 && /^\s*(select|insert|update|delete|with)\b/i.test(message) ? message.slice(cut + 3) : message;
}

/**
 * Whether retrying a step cannot help: PostgreSQL data exceptions (class 22) and integrity
 * constraint violations (class 23) come from the data the step works on, so every attempt fails
 * alike. Connection losses, deadlocks, serialisation failures and the like are retried.
 */
export function isPermanentError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

/**
 * Ends a run that cannot finish (its planning or its finalisation failed every attempt, or failed
 * for good): `failed`, with `error` naming the step and why, and its progress from its units. A unit
 * still queued or running is finished as failed too, with a gap saying why, so no instance collects
 * for a run that has ended (its completion needs the unit `running`). Nothing is stored, merged or
 * evaluated: a failed run is never evaluated (createEvaluation refuses it), so it resolves nothing.
 * Returns the failed run, or undefined when the run had already finished (or does not exist).
 */
export async function failRun(db: Knex, runId: string, error: string): Promise<CollectionRun | undefined> {
  return db.transaction(async (trx) => {
    const run: CollectionRun | undefined = await trx('collection_runs').where({ id: runId }).whereIn('status', ['queued', 'running']).forUpdate().first();
    if (!run) return undefined;
    const left: CollectionUnit[] = await trx('collection_units').where({ run_id: runId }).whereIn('status', ['queued', 'running']);
    for (const unit of left) {
      const reason = `not collected: the run failed (${error})`;
      const output: UnitOutput = { ...emptyUnitOutput(), gaps: [`${unit.source_name}/${unit.service}: ${reason}`], coverage: uncovered(unit, reason) };
      await trx('collection_units').update({ status: 'failed', output: JSON.stringify(output), finished_at: trx.fn.now() }).where({ id: unit.id });
    }
    const progress = (await unitProgress(trx, [runId])).get(runId);
    const [failed] = await trx('collection_runs')
      .update({
        status: 'failed',
        error: error.slice(0, 2000),
        finished_at: trx.fn.now(),
        ...(progress ? { progress: JSON.stringify({ done: progress.done, total: progress.total, running: progress.running, queued: progress.queued, retried: progress.retried, failed: progress.failed }) } : {}),
      })
      .where({ id: runId })
      .returning('*');
    return failed;
  });
}
