import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { recordMetricEvent } from '../alerts/metric-events.js';
import { DATA_QUALITY_FAILURES } from '../alerts/metrics.js';
import { recordAudit, type AuditContext } from '../audit/repository.js';
import { appendEvidence } from '../evidence/chain.js';
import { raiseFinding, resolveFinding } from '../evaluation/findings-repository.js';
import { ConnectionError, resolveCredential, type DynamoSettings, type PostgresSettings } from './connections.js';
import { DynamoRunner } from './dynamodb.js';
import { TABLE_KINDS } from './kinds.js';
import { maskSamples, planRule, type Outcome, type RulePlan, type StoredRule } from './plan.js';
import { PostgresRunner } from './postgres.js';

/**
 * A data quality run: a set of rules, executed by a durable job, one result per rule. Each result
 * is stored with the finding it opens or resolves in one transaction, so progress survives a crash
 * and a retried job skips the rules already done. The run's end writes its evidence.
 */

export const FINDING_RULE = 'catalog.data_quality';
/** Not an AWS type, nor a catalog (`Custos::`) type that every evaluation re-checks: only data quality runs resolve these. */
export const FINDING_RESOURCE_TYPE = 'data_quality_rule';
/**
 * What a run is evidence for: processing integrity (inputs complete and accurate, data stored
 * complete and accurate) and, since its samples are masked by the catalog's rules, C1.1.
 */
export const EVIDENCE_CONTROLS = ['PI1.2', 'PI1.5', 'C1.1'];
/** What a failing rule's finding fails: the processing integrity criteria (a data defect is not a confidentiality breach). */
export const FINDING_CONTROLS = ['PI1.2', 'PI1.5'];

export interface RunScope {
  rule_id?: string;
  asset_id?: string;
  domain?: string;
  schedule?: boolean;
}

export interface DataQualityRun {
  id: string;
  status: 'queued' | 'running' | 'complete' | 'partial' | 'failed';
  trigger: 'api' | 'schedule' | 'demo';
  requested_by: string;
  scope: RunScope;
  rule_ids: string[];
  rules_done: number;
  counts: Record<string, number>;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface ResultRow {
  id: string;
  run_id: string;
  rule_id: string;
  rule_type: string;
  status: 'passed' | 'failed' | 'not_tested' | 'error';
  complete: boolean;
  rows_checked: number;
  rows_failing: number;
  ratio: number | null;
  threshold: number;
  observed: Record<string, unknown>;
  samples: Array<Record<string, unknown>>;
  error: string | null;
  duration_ms: number;
  finding_id: string | null;
  started_at: string;
  finished_at: string;
}

export interface RunnerOptions {
  aws: { endpoint?: string; region?: string; maxAttempts?: number };
}

/** The enabled rules of a scope, in creation order. */
export async function rulesInScope(db: Knex, scope: RunScope): Promise<string[]> {
  const query = db('data_quality_rules as r').where('r.enabled', true).orderBy('r.id').select('r.id');
  if (scope.rule_id) query.where('r.id', scope.rule_id);
  if (scope.asset_id) query.where('r.asset_id', scope.asset_id);
  if (scope.domain) query.whereIn('r.asset_id', db('assets').select('id').where({ domain: scope.domain }));
  return query.pluck('r.id');
}

export async function createRun(
  trx: Knex.Transaction,
  input: { ruleIds: string[]; scope: RunScope; trigger: DataQualityRun['trigger']; context: AuditContext },
): Promise<DataQualityRun> {
  const [run] = await trx('data_quality_runs')
    .insert({ id: uuidv7(), status: 'queued', trigger: input.trigger, requested_by: input.context.actor, scope: JSON.stringify(input.scope), rule_ids: JSON.stringify(input.ruleIds) })
    .returning('*');
  await recordAudit(trx, input.context, { action: 'run', entity: 'data-quality-runs', entityId: run.id, newValue: { scope: input.scope, rule_ids: input.ruleIds } });
  return run;
}

export const getRun = (db: Knex, id: string): Promise<DataQualityRun | undefined> => db('data_quality_runs').where({ id }).first();

/** Judges an outcome against the rule's threshold. Data not seen is not_tested, never passed. */
export function judge(plan: RulePlan, outcome: Outcome): Pick<ResultRow, 'status' | 'ratio'> {
  if (TABLE_KINDS.includes(plan.rule.rule_type)) {
    if (outcome.failing > 0 && !outcome.complete) return { status: 'not_tested', ratio: null };
    return { status: outcome.failing > 0 ? 'failed' : 'passed', ratio: null };
  }
  if (outcome.checked === 0) return { status: 'not_tested', ratio: null };
  const ratio = outcome.failing / outcome.checked;
  return { status: ratio > plan.rule.threshold ? 'failed' : 'passed', ratio };
}

const describeRule = (plan: RulePlan) => `${plan.asset.database}.${plan.asset.table_name}${plan.rule.column_name ? `.${plan.rule.column_name}` : ''}`;

function findingOf(plan: RulePlan, result: Pick<ResultRow, 'rows_checked' | 'rows_failing' | 'ratio' | 'observed'>) {
  const { rule } = plan;
  const what =
    result.ratio === null
      ? `${rule.rule_type} check failed (${JSON.stringify(result.observed)})`
      : `${result.rows_failing} of ${result.rows_checked} rows fail (ratio ${result.ratio.toFixed(4)} > threshold ${rule.threshold})`;
  return {
    id: FINDING_RULE,
    severity: rule.severity,
    controls: FINDING_CONTROLS,
    msg: `data quality rule "${rule.name}" on ${describeRule(plan)}: ${what}`,
    resource: { type: FINDING_RESOURCE_TYPE, id: rule.id, account: 'custos', region: plan.asset.store },
    // No resource types: no collection run ever covers it, so no evaluation resolves it.
    rule: { id: FINDING_RULE, resource_types: [], data_quality_rule: rule.id, rule_type: rule.rule_type, asset_id: plan.asset.id, column: rule.column_name, threshold: rule.threshold },
  };
}

/** Stores one rule's result with the finding it opens or resolves, and the run's progress, in one transaction. */
async function recordResult(db: Knex, runId: string, plan: RulePlan | undefined, rule: StoredRule, result: Omit<ResultRow, 'id' | 'finding_id'>) {
  return db.transaction(async (trx) => {
    let finding_id: string | null = null;
    if (plan && result.status === 'failed') {
      finding_id = (await raiseFinding(trx, findingOf(plan, result), result.finished_at)).id;
    } else if (plan && result.status === 'passed' && result.complete) {
      // Only the rule's own finding, and only from a pass over all of its data.
      finding_id = (await resolveFinding(trx, { id: FINDING_RULE, resource: findingOf(plan, result).resource }, result.finished_at)) ?? null;
    }
    // The alert metric (issue 16): rows failing, 0 on a pass over all the data; nothing when the rule did not run or saw a sample only.
    if (plan && (result.status === 'failed' || (result.status === 'passed' && result.complete))) {
      await recordMetricEvent(trx, {
        metric: DATA_QUALITY_FAILURES,
        dimensions: { rule: rule.id, asset: `${plan.asset.store}.${plan.asset.database}.${plan.asset.table_name}`, severity: rule.severity },
        value: result.status === 'passed' ? 0 : Math.max(1, result.rows_failing),
        links: [{ rel: 'data_quality_rule', href: `/v1/data-quality-rules/${rule.id}` }],
      });
    }
    const [row] = await trx('data_quality_results')
      .insert({ id: uuidv7(), ...result, rule_id: rule.id, observed: JSON.stringify(result.observed), samples: JSON.stringify(result.samples), finding_id })
      .onConflict(['run_id', 'rule_id'])
      .ignore()
      .returning('*');
    await trx('data_quality_runs').where({ id: runId }).update({ rules_done: trx.raw('(SELECT count(*) FROM data_quality_results WHERE run_id = ?)', [runId]) });
    return row as ResultRow | undefined;
  });
}

type Runner = { run(plan: RulePlan): Promise<Outcome>; close(): Promise<void> | void };

/** Opens the runner for a catalog database, or says why it cannot. */
async function openRunner(db: Knex, store: string, database: string, options: RunnerOptions): Promise<Runner> {
  const connection = await db('data_quality_connections').where({ store, database }).first();
  if (!connection) throw new ConnectionError(`no data quality connection is registered for ${store} database ${database}`);
  if (!connection.enabled) throw new ConnectionError(`connection ${connection.name} is disabled`);
  if (store === 'dynamodb') return DynamoRunner.create(connection.settings as DynamoSettings, options.aws);
  const settings = connection.settings as PostgresSettings;
  const credential = await resolveCredential({ name: connection.name, settings }, options.aws);
  try {
    return await PostgresRunner.connect({
      host: settings.host,
      port: settings.port ?? 5432,
      database: settings.dbname,
      user: credential.user,
      password: credential.password,
      tls: settings.tls ?? true,
      schema: settings.schema ?? 'public',
      statementTimeoutMs: settings.statement_timeout_ms ?? 30_000,
      sampleSize: settings.sample_size ?? 10,
    });
  } catch (error) {
    throw new ConnectionError(`connection ${connection.name}: cannot connect to ${settings.host}:${settings.port ?? 5432}/${settings.dbname}: ${(error as Error).message}`);
  }
}

/** The job: runs every rule of the run not yet done, grouped by the store they run on. Idempotent. */
export async function executeRun(db: Knex, runId: string, options: RunnerOptions): Promise<DataQualityRun | undefined> {
  const run = await getRun(db, runId);
  if (!run || ['complete', 'partial', 'failed'].includes(run.status)) return run;
  await db('data_quality_runs').where({ id: runId }).update({ status: 'running', started_at: run.started_at ?? db.fn.now() });
  const done = new Set<string>(await db('data_quality_results').where({ run_id: runId }).pluck('rule_id'));
  const rules: StoredRule[] = await db('data_quality_rules').whereIn('id', run.rule_ids).orderBy('id');
  const groups = new Map<string, Array<{ rule: StoredRule; plan?: RulePlan; error?: string }>>();
  for (const rule of rules.filter((r) => !done.has(r.id))) {
    let entry: { rule: StoredRule; plan?: RulePlan; error?: string };
    try {
      entry = { rule, plan: await planRule(db, rule) };
    } catch (error) {
      entry = { rule, error: (error as Error).message };
    }
    const key = entry.plan ? `${entry.plan.asset.store}\u0000${entry.plan.asset.database}` : '';
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  const connectionErrors: string[] = [];
  for (const [key, entries] of groups) {
    let runner: Runner | undefined;
    let groupError: string | undefined;
    if (key) {
      const [store, database] = key.split('\u0000') as [string, string];
      try {
        runner = await openRunner(db, store, database, options);
      } catch (error) {
        groupError = (error as Error).message;
        connectionErrors.push(groupError);
      }
    }
    try {
      for (const entry of entries) {
        const started = new Date();
        const base = { run_id: runId, rule_id: entry.rule.id, rule_type: entry.rule.rule_type, threshold: entry.rule.threshold, started_at: started.toISOString() };
        let result: Omit<ResultRow, 'id' | 'finding_id'>;
        const error = entry.error ?? groupError;
        if (error || !runner || !entry.plan) {
          result = { ...base, status: 'error', complete: false, rows_checked: 0, rows_failing: 0, ratio: null, observed: {}, samples: [], error: error ?? 'not run', duration_ms: 0, finished_at: new Date().toISOString() };
        } else {
          try {
            const outcome = await runner.run(entry.plan);
            const verdict = judge(entry.plan, outcome);
            result = {
              ...base,
              ...verdict,
              complete: outcome.complete,
              rows_checked: outcome.checked,
              rows_failing: outcome.failing,
              observed: outcome.observed,
              samples: maskSamples(entry.plan, outcome.samples),
              error: null,
              duration_ms: Date.now() - started.getTime(),
              finished_at: new Date().toISOString(),
            };
          } catch (failure) {
            result = { ...base, status: 'error', complete: false, rows_checked: 0, rows_failing: 0, ratio: null, observed: {}, samples: [], error: (failure as Error).message, duration_ms: Date.now() - started.getTime(), finished_at: new Date().toISOString() };
          }
        }
        await recordResult(db, runId, entry.plan, entry.rule, result);
      }
    } finally {
      await runner?.close();
    }
  }
  return finishRun(db, runId, connectionErrors);
}

async function finishRun(db: Knex, runId: string, connectionErrors: string[]): Promise<DataQualityRun> {
  return db.transaction(async (trx) => {
    const { results, counts } = await tally(trx, runId);
    const status = results.length > 0 && counts.error === results.length ? 'failed' : counts.error! > 0 ? 'partial' : 'complete';
    const errors = [...new Set([...connectionErrors, ...results.filter((r) => r.status === 'error').map((r) => r.error!)])];
    return endRun(trx, runId, results, counts, status, errors.length ? errors.slice(0, 5).join('; ') : null);
  });
}

/**
 * Ends a run whose job gave up (every attempt failed, or the last one expired: the dead letter
 * queue of `data-quality-run`): `failed`, with `error` saying why, its counts from the results it
 * stored, and its evidence, only if it is still `queued` or `running` (a finished run is left as it
 * is). The results it stored stand, with the finding each opened or resolved; it resolves nothing
 * more. Returns the failed run, or undefined.
 */
export async function giveUpRun(db: Knex, runId: string, error: string): Promise<DataQualityRun | undefined> {
  return db.transaction(async (trx) => {
    const run = await trx('data_quality_runs').where({ id: runId }).whereIn('status', ['queued', 'running']).forUpdate().first();
    if (!run) return undefined;
    const { results, counts } = await tally(trx, runId);
    return endRun(trx, runId, results, counts, 'failed', error.slice(0, 2000));
  });
}

/** A run's results so far, and how many have each status. */
async function tally(trx: Knex.Transaction, runId: string) {
  const results: ResultRow[] = await trx('data_quality_results').where({ run_id: runId }).orderBy('id');
  const counts: Record<string, number> = { rules: results.length, passed: 0, failed: 0, not_tested: 0, error: 0 };
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return { results, counts };
}

/** The run's end: status, counts, error, and its evidence (every run is evidence, whatever its outcome). */
async function endRun(trx: Knex.Transaction, runId: string, results: ResultRow[], counts: Record<string, number>, status: DataQualityRun['status'], error: string | null): Promise<DataQualityRun> {
  const [run] = await trx('data_quality_runs')
    .where({ id: runId })
    .update({ status, counts: JSON.stringify(counts), error, finished_at: trx.fn.now() })
    .returning('*');
  // What was checked, how it came out, what could not run.
  const body = {
    run_id: run.id,
    status,
    trigger: run.trigger,
    scope: run.scope,
    counts,
    error: run.error,
    results: results.map((r) => ({
      rule_id: r.rule_id,
      rule_type: r.rule_type,
      status: r.status,
      complete: r.complete,
      rows_checked: Number(r.rows_checked),
      rows_failing: Number(r.rows_failing),
      ratio: r.ratio,
      threshold: r.threshold,
      finding_id: r.finding_id,
    })),
  };
  const at = new Date(run.finished_at).toISOString();
  await appendEvidence(trx, EVIDENCE_CONTROLS.map((control_id) => ({ control_id, kind: 'data_quality' as const, source_id: run.id, collected_at: at, bundle_revision: null, body })));
  return run as DataQualityRun;
}
