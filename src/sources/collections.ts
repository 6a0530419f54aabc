import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { recordCollectionEvidence } from '../evidence/collection-evidence.js';
import { recordAudit, type AuditContext } from '../audit/repository.js';
import { HttpProblem } from '../http/problem.js';
import { collectorContext, describeAwsError } from './aws.js';
import { COLLECTORS, collectorNamed } from './collectors/index.js';
import { storeCoverage, type CoverageRow } from './coverage.js';
import { assertAccount } from './identity.js';
import { storeRunState, type RunState } from './run-store.js';
import { parseSnapshot } from './snapshot.js';

export interface CollectionRun {
  id: string;
  status: 'queued' | 'running' | 'complete' | 'partial' | 'failed';
  trigger: 'api' | 'schedule' | 'file' | 'demo';
  requested_by: string;
  source_ids: string[];
  since: number | null;
  progress: { done: number; total: number; current?: string };
  counts: Record<string, Record<string, number>>;
  gaps: string[];
  error: string | null;
  observed_at: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
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

/** Imports a snapshot document as a finished run, in one transaction; a malformed one stores nothing. */
export async function importSnapshot(db: Knex, snapshot: unknown, values: { trigger: 'file' | 'demo'; context: AuditContext }): Promise<CollectionRun> {
  const state = await parseSnapshot(snapshot);
  return db.transaction(async (trx) => {
    const id = uuidv7();
    const observedAt = state.observedAt ?? new Date().toISOString();
    await trx('collection_runs').insert({ id, status: 'running', trigger: values.trigger, requested_by: values.context.actor, observed_at: observedAt, started_at: trx.fn.now() });
    await storeRunState(trx, id, state);
    await storeCoverage(trx, id, state.coverage);
    // A snapshot that declares a listing incomplete is a partial run, like a collection with gaps:
    // it resolves nothing (src/evaluation/evaluate.ts), and its reasons are the run's gaps.
    const gaps = state.coverage.filter((c) => !c.complete).map((c) => `file: ${c.resource_type} in ${c.account}/${c.region} not listed completely: ${c.reason ?? 'incomplete'}`);
    const [run] = await trx('collection_runs')
      .update({ status: gaps.length ? 'partial' : 'complete', gaps: JSON.stringify(gaps), counts: JSON.stringify({ file: countsOf(state) }), progress: JSON.stringify({ done: 1, total: 1 }), finished_at: trx.fn.now() })
      .where({ id })
      .returning('*');
    await recordAudit(trx, values.context, { action: 'import', entity: 'collections', entityId: id, newValue: { trigger: values.trigger, counts: countsOf(state), observed_at: observedAt } });
    await recordCollectionEvidence(trx, id);
    return run;
  });
}

/**
 * Runs every collector of every source of a queued run and stores what they saw. A collector's
 * gaps (failed or unavailable operations, after the SDK's retries) make the run `partial` with the
 * reasons; the run is `failed` only if Custos itself could not proceed. Safe to retry: the job
 * starts over and replaces what an interrupted attempt stored.
 */
export async function executeRun(db: Knex, runId: string, options: { endpoint?: string; maxAttempts?: number }): Promise<CollectionRun | undefined> {
  const run = await getRun(db, runId);
  if (!run || ['complete', 'partial'].includes(run.status)) return run;
  const observedAt = new Date();
  try {
    const sources: Source[] = await db('sources').whereIn('id', run.source_ids);
    const tasks = sources.flatMap((source) => source.services.map((service) => ({ source, service })));
    // The catalogued tables (bounded by the catalog): LF-tag policy permissions are judged against their tags.
    const catalogTables: Array<{ database: string; table: string }> = await db('assets').distinct('database', 'table_name as table').orderBy(['database', 'table']);
    await db('collection_runs')
      .update({ status: 'running', started_at: db.fn.now(), observed_at: observedAt.toISOString(), gaps: '[]', error: null, progress: JSON.stringify({ done: 0, total: tasks.length }) })
      .where({ id: runId });

    const state: RunState = { resources: [], findings: [], permissions: [], settings: [] };
    const coverage: CoverageRow[] = [];
    const gaps: string[] = [];
    const counts: Record<string, Record<string, number>> = {};
    // Each source's identity is checked once, before its first collector: a refusal is one gap per
    // service of the source, and nothing of that source is read.
    const identities = new Map<string, Promise<string | null>>();
    for (const [done, { source, service }] of tasks.entries()) {
      await db('collection_runs').update({ progress: JSON.stringify({ done, total: tasks.length, current: `${source.name}/${service}` }) }).where({ id: runId });
      const context = collectorContext(
        { account: source.account_id, region: source.region, roleArn: source.role_arn },
        { endpoint: options.endpoint, now: Math.floor(observedAt.getTime() / 1000), since: run.since ?? undefined, maxAttempts: options.maxAttempts },
      );
      context.catalogTables = catalogTables;
      const where = { account: source.account_id, region: source.region, service };
      if (!identities.has(source.id)) {
        identities.set(
          source.id,
          assertAccount(context.aws, source.account_id).then(
            () => null,
            (error: Error) => error.message,
          ),
        );
      }
      const refused = await identities.get(source.id);
      if (refused) {
        gaps.push(`${source.name}/${service}: ${refused}`);
        // Nothing was read: every type the collector declares is not covered, with the reason.
        const types = Object.hasOwn(COLLECTORS, service) ? COLLECTORS[service]!.resourceTypes : [];
        coverage.push(...types.map((resource_type) => ({ ...where, resource_type, complete: false, reason: refused })));
        continue;
      }
      try {
        const collector = collectorNamed(service);
        const output = await collector.collect(context);
        coverage.push(...output.coverage.map((c) => ({ ...where, resource_type: c.resource_type, complete: c.complete, reason: c.complete ? null : (c.reason ?? 'incomplete') })));
        // A loop, not push(...items): spreading 100,000 findings overflows the call stack.
        for (const key of ['resources', 'findings', 'permissions', 'settings'] as const) for (const item of output[key]) (state[key] as unknown[]).push(item);
        gaps.push(...output.gaps.map((gap) => `${source.name}/${service}: ${gap}`));
        counts[`${source.name}/${service}`] = countsOf({ ...output });
      } catch (error) {
        const gap = describeAwsError('collect', error);
        gaps.push(`${source.name}/${service}: ${gap}`);
        // Nothing it declares was listed: no coverage row is missing, each says why.
        const types = Object.hasOwn(COLLECTORS, service) ? COLLECTORS[service]!.resourceTypes : [];
        coverage.push(...types.map((resource_type) => ({ ...where, resource_type, complete: false, reason: gap })));
      }
    }
    return await db.transaction(async (trx) => {
      await storeRunState(trx, runId, state);
      await storeCoverage(trx, runId, coverage);
      const [finished] = await trx('collection_runs')
        .update({
          status: gaps.length ? 'partial' : 'complete',
          gaps: JSON.stringify(gaps),
          counts: JSON.stringify(counts),
          progress: JSON.stringify({ done: tasks.length, total: tasks.length }),
          finished_at: trx.fn.now(),
        })
        .where({ id: runId })
        .returning('*');
      await recordCollectionEvidence(trx, runId);
      return finished;
    });
  } catch (error) {
    const [failed] = await db('collection_runs').update({ status: 'failed', error: (error as Error).message, finished_at: db.fn.now() }).where({ id: runId }).returning('*');
    return failed;
  }
}
