import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import type { Knex } from 'knex';
import { grantQueues, grantSchedules } from '../access/grants/index.js';
import { dataQualityQueues, dataQualitySchedules, RUN_QUEUE } from '../data-quality/index.js';
import { changeQueues, changeSchedules } from '../changes/index.js';
import { CHECKPOINT_QUEUE } from '../integrity/index.js';
import { exceptionQueues, exceptionSchedules } from '../exceptions/index.js';
import { autoRemediate, remediationQueues, remediationSchedules, RESUME_QUEUE, type RemediationJobContext } from '../remediation/index.js';
import { createEvaluation, failEvaluation, runEvaluation } from '../evaluation/evaluate.js';
import { CATALOG_EVALUATION_QUEUE, CATALOG_EVALUATION_SCHEDULE, CatalogEvaluator } from '../evaluation/catalog-evaluation.js';
import type { PolicyService } from '../policy/service.js';
import { createRun, executeUnit, failRun, finaliseRun, giveUpUnit, isPermanentError, planRun } from '../sources/collections.js';
import { AwsThrottle } from '../sources/throttle.js';
import { decisionLogQueues, decisionLogSchedules, DECISION_LOG_QUEUE } from '../policy/decision-log-retention.js';
import type { AlertService } from '../alerts/service.js';
import { deadLetterError, gaveUpError, stepError } from './gave-up.js';
import { JobQueue, type JobMeta } from './queue.js';

/** One unit (source, service) of a collection run: any instance with workers takes them. */
export const COLLECTION_UNIT_QUEUE = 'collection-unit';
/** A unit whose every attempt failed (pg-boss dead letter): it becomes a gap of its run. */
export const COLLECTION_UNIT_GAVE_UP_QUEUE = 'collection-unit-gave-up';
/** Attempts of a unit before it is given up (pg-boss retries: one less). */
export const COLLECTION_UNIT_ATTEMPTS = 3;
/**
 * A run's own steps (data: runId, and step `finalise` for its finalisation, planning otherwise): its
 * planning into units, and its finalisation once no unit is left, queued after every unit (at most
 * one waiting per run and step).
 */
export const COLLECTION_QUEUE = 'collection';
/** An evaluation (data: evaluationId; the job's id is the evaluation's). */
export const EVALUATION_QUEUE = 'evaluation';
/** An evaluation whose every attempt failed, or whose last attempt expired (pg-boss dead letter of `evaluation`): it ends `failed`. */
export const EVALUATION_GAVE_UP_QUEUE = 'evaluation-gave-up';
/** Attempts at an evaluation before it ends `failed` (pg-boss retries: one less). */
export const EVALUATION_ATTEMPTS = 3;
/** A run step that failed every attempt (pg-boss dead letter of `collection`): the run ends `failed`. */
export const COLLECTION_GAVE_UP_QUEUE = 'collection-gave-up';
/** Attempts at planning, and at finalising, a run before it ends `failed`. */
export const COLLECTION_STEP_ATTEMPTS = 3;

/**
 * The background work of Custos as durable jobs: a collection run, then the evaluation that follows
 * it. A run is planned into units (one per source and service) that every instance takes from the
 * queue; the last one done finalises the run, once (docs/ARCHITECTURE.md, "Collection and
 * evaluation"). A scheduled collection (CUSTOS_COLLECTION_SCHEDULE) starts a run over all enabled sources.
 */
export class Workflows {
  private readonly queue: JobQueue;
  /** Evaluates committed catalog changes: in the request that made them, and in the sweep (src/evaluation/catalog-evaluation.ts). */
  readonly catalog: CatalogEvaluator;
  /** This instance's AWS token buckets, per account and service, shared by all its units. */
  private readonly throttle: AwsThrottle;
  /** Who claims collection units: host, process, and a random part (several apps may share a process in tests). */
  private readonly instance = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

  constructor(
    private readonly db: Knex,
    private readonly policy: PolicyService,
    private readonly log: FastifyBaseLogger,
    private readonly options: {
      databaseUrl: string;
      awsEndpointUrl?: string;
      awsMaxAttempts: number;
      /** CUSTOS_AWS_REQUESTS_PER_SECOND, per account and service on this instance. */
      awsRequestsPerSecond?: number;
      /** CUSTOS_COLLECTION_CONCURRENCY: units this instance collects at once. */
      collectionConcurrency?: number;
      /** CUSTOS_COLLECTION_UNIT_TIMEOUT_SECONDS: how long one attempt of a unit may take before pg-boss gives it to another instance. */
      collectionUnitTimeoutSeconds?: number;
      schedule?: string;
      work: boolean; autoRemediate?: boolean; remediationStepDelayMs?: number; decisionLogRetentionDays?: number; alerts?: AlertService; checkpoint?: { cron: string; write: () => Promise<unknown> } },
  ) {
    // Expired attempts (a dead instance's units) are looked for at least every half unit timeout.
    const unitTimeout = options.collectionUnitTimeoutSeconds ?? 900;
    this.queue = new JobQueue(options.databaseUrl, log, Math.min(120, Math.max(1, Math.floor(unitTimeout / 2))));
    this.throttle = new AwsThrottle(options.awsRequestsPerSecond ?? 20);
    this.catalog = new CatalogEvaluator(db, policy, log, async () => this.options.alerts?.trigger('evaluation finished'));
  }

  async start(): Promise<void> {
    await this.queue.start(
      [
        // A dead letter queue first: the queue naming it needs it to exist.
        { name: COLLECTION_GAVE_UP_QUEUE, expireInSeconds: 600, handler: async ({ runId, step }, meta) => this.stepGaveUp(runId!, step === 'finalise' ? 'finalisation' : 'planning', meta) },
        {
          name: COLLECTION_QUEUE,
          // At most one job waits per singleton key: units finishing together queue one finalisation.
          policy: 'short',
          // A finalisation merges and stores the whole run (before, it ran in a unit job: 900 s too).
          expireInSeconds: 900,
          retryLimit: COLLECTION_STEP_ATTEMPTS - 1,
          retryDelaySeconds: 2,
          deadLetter: COLLECTION_GAVE_UP_QUEUE,
          handler: async ({ runId, step }) => (step === 'finalise' ? this.finaliseStep(runId!) : this.planCollection(runId!)),
        },
        { name: COLLECTION_UNIT_GAVE_UP_QUEUE, expireInSeconds: 600, handler: async ({ unitId }) => this.unitGaveUp(unitId!) },
        {
          name: COLLECTION_UNIT_QUEUE,
          expireInSeconds: this.options.collectionUnitTimeoutSeconds ?? 900,
          concurrency: this.options.collectionConcurrency ?? 4,
          retryLimit: COLLECTION_UNIT_ATTEMPTS - 1,
          retryDelaySeconds: 1,
          deadLetter: COLLECTION_UNIT_GAVE_UP_QUEUE,
          handler: async ({ unitId }) => this.collectUnit(unitId!),
        },
        { name: EVALUATION_GAVE_UP_QUEUE, expireInSeconds: 600, handler: async ({ evaluationId }, meta) => this.evaluationGaveUp(evaluationId!, meta) },
        {
          name: EVALUATION_QUEUE,
          expireInSeconds: 1800,
          retryLimit: EVALUATION_ATTEMPTS - 1,
          retryDelaySeconds: 2,
          // Every attempt failed, or the last one expired (its instance died): the evaluation ends `failed`, never `running` for good.
          deadLetter: EVALUATION_GAVE_UP_QUEUE,
          handler: async ({ evaluationId }) => this.afterEvaluation(await runEvaluation(this.db, this.policy, evaluationId!)),
        },
        { name: 'scheduled-collection', expireInSeconds: 600, handler: () => this.scheduledCollection() },
        { name: CATALOG_EVALUATION_QUEUE, expireInSeconds: 600, policy: 'short', handler: () => this.catalog.evaluate() },
        ...grantQueues({ db: this.db, log: this.log, awsEndpointUrl: this.options.awsEndpointUrl, awsMaxAttempts: this.options.awsMaxAttempts }),
        ...remediationQueues(this.remediationContext()),
        ...decisionLogQueues({ db: this.db, log: this.log, retentionDays: this.options.decisionLogRetentionDays ?? 400 }),
        ...exceptionQueues({ db: this.db, log: this.log, policy: this.policy, evaluateRun: (runId, requestedBy) => this.evaluateRun(runId, 'schedule', requestedBy) }),
        ...(this.options.alerts?.queues() ?? []),
        ...changeQueues(this.db),
        ...(this.options.checkpoint ? [{ name: CHECKPOINT_QUEUE, expireInSeconds: 600, handler: async () => void (await this.options.checkpoint!.write()) }] : []),
        ...dataQualityQueues({
          db: this.db,
          log: this.log,
          aws: { endpoint: this.options.awsEndpointUrl, maxAttempts: this.options.awsMaxAttempts },
          enqueue: (trx, queue, id, data) => this.enqueue(trx, queue, id, data),
        }),
      ],
      {
        work: this.options.work,
        schedules: [...(this.options.schedule ? [{ queue: 'scheduled-collection', cron: this.options.schedule }] : []), CATALOG_EVALUATION_SCHEDULE, ...grantSchedules, ...exceptionSchedules, ...remediationSchedules, ...decisionLogSchedules, ...(this.options.alerts?.schedules ?? []), ...dataQualitySchedules, ...changeSchedules, ...(this.options.checkpoint ? [{ queue: CHECKPOINT_QUEUE, cron: this.options.checkpoint.cron }] : [])],
      },
    );
    // Executions whose process died resume now rather than at the next minute's sweep.
    if (this.options.work) await this.queue.send(RESUME_QUEUE, {}, `${RESUME_QUEUE}:start`);
    // Rows an earlier version left `queued` without a job get theirs.
    if (this.options.work) await this.requeueQueued();
    // Partitions for the coming months exist from the first start, not only after the first night.
    if (this.options.work) await this.queue.send(DECISION_LOG_QUEUE, {}, `${DECISION_LOG_QUEUE}:start`);
    // Catalog changes a stopped process committed but did not evaluate are evaluated now.
    if (this.options.work) await this.queue.send(CATALOG_EVALUATION_QUEUE, {}, `${CATALOG_EVALUATION_QUEUE}:start`);
    await this.options.alerts?.start(this.queue, this.options.databaseUrl, this.options.work);
  }

  async stop(): Promise<void> {
    await this.options.alerts?.stop();
    await this.queue.stop();
  }

  private remediationContext(): RemediationJobContext {
    return {
      db: this.db,
      log: this.log,
      aws: { endpoint: this.options.awsEndpointUrl, maxAttempts: this.options.awsMaxAttempts },
      stepDelayMs: this.options.remediationStepDelayMs ?? 0,
      send: (queue, data, key) => this.queue.send(queue, data, key),
    };
  }

  /** With CUSTOS_AUTO_REMEDIATE=true, low-risk findings of rules that allow it are remediated after each evaluation. */
  private async afterEvaluation(evaluation: { id: string; status: string } | undefined) {
    await this.options.alerts?.trigger('evaluation finished');
    // A catalog change committed while it ran was requested again by it: evaluated now.
    await this.catalog.evaluate();
    if (this.options.autoRemediate && evaluation?.status === 'complete') await autoRemediate(this.remediationContext(), evaluation.id);
  }

  /** Enqueues any job by queue name (for capabilities that bring their own queues). */
  send(queue: string, data: Record<string, string>, key: string): Promise<void> {
    return this.queue.send(queue, data, key);
  }

  /**
   * Enqueues a row's job in the transaction that inserts the row (`queued`), with the row's id as the
   * job's: both commit or neither does, so no row is ever `queued` without a job to run it (before, the
   * job was sent after the commit, and a process that died in between left the row `queued` for good).
   * Chosen over a sweep that re-sends jobs for old `queued` rows: nothing to time, no grace period in
   * which the API shows a run no job will take, and no second job for a row whose job is only late.
   * The job's id dedupes: inserting it again while it is queued or running adds nothing.
   */
  enqueue(trx: Knex.Transaction, queue: string, id: string, data: Record<string, string>, singletonKey?: string): Promise<void> {
    return this.queue.insert(queue, [{ id, data, ...(singletonKey ? { singletonKey } : {}) }], trx);
  }

  /**
   * Once at start: a job for every row still `queued` with none in pg-boss, by its id or by the
   * singleton key earlier versions sent it with. Since rows and jobs commit together (enqueue) there
   * are none of these but the rows earlier versions left when their process died between the commit
   * and the send (and the demo estate's evaluation, run in process, when it died before running it).
   * The handlers take a row `queued` as new work, and any other as done or under way. Returns how
   * many jobs it queued, per queue.
   */
  async requeueQueued(): Promise<Record<string, number>> {
    const kinds = [
      { table: 'collection_runs', queue: COLLECTION_QUEUE, field: 'runId', key: 'collection:' },
      { table: 'evaluations', queue: EVALUATION_QUEUE, field: 'evaluationId', key: 'evaluation:' },
      { table: 'data_quality_runs', queue: RUN_QUEUE, field: 'runId', key: `${RUN_QUEUE}:` },
    ];
    const queued: Record<string, number> = {};
    for (const { table, queue, field, key } of kinds) {
      const ids: string[] = await this.db(`${table} as r`)
        .where('r.status', 'queued')
        .whereNotExists((q) =>
          q.select(this.db.raw('1')).from('pgboss.job as j').where('j.name', queue).where((w) => w.whereRaw('j.id = r.id').orWhere((o) => o.whereRaw(`j.singleton_key = ? || r.id::text`, [key]).whereIn('j.state', ['created', 'retry', 'active']))),
        )
        .orderBy('r.id')
        .pluck('r.id');
      if (ids.length === 0) continue;
      this.log.warn({ queue, rows: ids.length }, 'queued rows without a job: queued again');
      await this.queue.insert(queue, ids.map((id) => ({ id, data: { [field]: id }, ...(queue === COLLECTION_QUEUE ? { singletonKey: `collection:${id}` } : {}) })));
      queued[queue] = ids.length;
    }
    return queued;
  }

  /** Queues a collection run: the run (createRun) and its planning job in one transaction. */
  startCollection(values: Parameters<typeof createRun>[1]) {
    return this.db.transaction(async (trx) => {
      const run = await createRun(trx, values);
      await this.enqueue(trx, COLLECTION_QUEUE, run.id, { runId: run.id }, `collection:${run.id}`);
      return run;
    });
  }

  /**
   * Queues an evaluation of a finished run: the evaluation and its job in one transaction (the
   * caller's, when given: a snapshot import stores its run and queues its evaluation together).
   */
  evaluateRun(runId: string, trigger: 'api' | 'collection' | 'schedule' | 'demo', requestedBy: string, trx?: Knex.Transaction) {
    const queue = async (trx: Knex.Transaction) => {
      const evaluation = await createEvaluation(trx, { runId, trigger, requestedBy });
      await this.enqueue(trx, EVALUATION_QUEUE, evaluation.id, { evaluationId: evaluation.id });
      return evaluation;
    };
    return trx ? queue(trx) : this.db.transaction(queue);
  }

  /**
   * The `collection` job: plans the run into units and queues them (again, after a crash: ids
   * dedupe). An error that would recur ends the run at once; any other is retried by pg-boss, and the
   * run ends `failed` when every attempt failed (the dead letter queue, stepGaveUp).
   */
  private async planCollection(runId: string) {
    let planned: Awaited<ReturnType<typeof planRun>>;
    try {
      planned = await planRun(this.db, runId);
    } catch (error) {
      if (!isPermanentError(error)) throw error;
      this.log.error({ err: error, runId }, 'collection run planning failed for good');
      return this.ended(await failRun(this.db, runId, stepError('planning', 'permanent', error)));
    }
    const { run, pending } = planned;
    if (!run) return;
    if (pending.length === 0) return this.requestFinalise(runId);
    const expireInSeconds = this.options.collectionUnitTimeoutSeconds ?? 900;
    await this.queue.insert(COLLECTION_UNIT_QUEUE, pending.map((id) => ({ id, data: { unitId: id }, expireInSeconds })));
  }

  private async collectUnit(unitId: string) {
    const runId = await executeUnit(this.db, unitId, { endpoint: this.options.awsEndpointUrl, maxAttempts: this.options.awsMaxAttempts, instance: this.instance, throttle: this.throttle });
    if (runId) await this.requestFinalise(runId);
  }

  private async unitGaveUp(unitId: string) {
    const runId = await giveUpUnit(this.db, unitId);
    if (runId) await this.requestFinalise(runId);
  }

  /**
   * Queues the run's finalisation, after a unit finished (done or given up) or after planning found
   * none left. A job of its own (in the queue of the run's steps, no worker more per instance),
   * retried on its own and dead-lettered on its own: a finalisation
   * that fails every attempt ends the run `failed` rather than leave it `running`. One job waits per
   * run at most; one that runs before the last unit finished finalises nothing, and the last unit
   * queues another.
   */
  private requestFinalise(runId: string): Promise<void> {
    return this.queue.send(COLLECTION_QUEUE, { runId, step: 'finalise' }, `finalise:${runId}`);
  }

  /** The finalisation job: an error that would recur ends the run at once, any other is retried. */
  private async finaliseStep(runId: string) {
    try {
      await this.finalise(runId);
    } catch (error) {
      if (!isPermanentError(error)) throw error;
      this.log.error({ err: error, runId }, 'collection run finalisation failed for good');
      await this.ended(await failRun(this.db, runId, stepError('finalisation', 'permanent', error)));
    }
  }

  /** A step's job failed every attempt (its dead letter): the run ends `failed`, naming the step and its last error. */
  private async stepGaveUp(runId: string, step: 'planning' | 'finalisation', meta: JobMeta) {
    this.log.error({ runId, step, err: deadLetterError(meta) }, `collection run ${step} gave up`);
    await this.ended(await failRun(this.db, runId, gaveUpError(step, meta)));
  }

  /**
   * An evaluation's job failed every attempt, or its last attempt expired (its dead letter): the
   * evaluation ends `failed`, naming the step and its last error, unless it had finished already. It
   * wrote no findings (they commit with `complete` only), so it resolves nothing.
   */
  private async evaluationGaveUp(evaluationId: string, meta: JobMeta) {
    this.log.error({ evaluationId, err: deadLetterError(meta) }, 'evaluation gave up');
    if (await failEvaluation(this.db, evaluationId, gaveUpError('evaluation', meta))) await this.options.alerts?.trigger('evaluation finished');
  }

  private async ended(run: { id: string } | undefined) {
    if (run) await this.options.alerts?.trigger('collection run finished');
  }

  /**
   * Finalises the run when no unit is left (only one caller succeeds); the evaluation that follows
   * and its job are created in the same transaction, so a run is evaluated once and its evaluation
   * never waits without a job. A later call queues the job of any evaluation of the run still
   * `queued` again (its id is the evaluation's, so never twice): runs finalised by earlier versions,
   * which queued it after the commit.
   */
  private async finalise(runId: string) {
    const finished = await finaliseRun(this.db, runId, async (trx) => {
      const evaluation = await createEvaluation(trx, { runId, trigger: 'collection', requestedBy: 'system:collection' });
      await this.enqueue(trx, EVALUATION_QUEUE, evaluation.id, { evaluationId: evaluation.id });
    });
    if (finished) return this.options.alerts?.trigger('collection run finished');
    if (!['complete', 'partial'].includes((await this.db('collection_runs').select('status').where({ id: runId }).first())?.status)) return;
    const queued: Array<{ id: string }> = await this.db('evaluations').select('id').where({ run_id: runId, trigger: 'collection', status: 'queued' });
    if (queued.length) await this.queue.insert(EVALUATION_QUEUE, queued.map(({ id }) => ({ id, data: { evaluationId: id } })));
  }

  private async scheduledCollection() {
    const context = { actor: 'system:schedule', actorKeyId: null, role: 'system' };
    try {
      await this.startCollection({ trigger: 'schedule', context });
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'scheduled collection not started');
    }
  }
}
