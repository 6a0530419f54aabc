import type { FastifyBaseLogger } from 'fastify';
import type { Knex } from 'knex';
import { grantQueues, grantSchedules } from '../access/grants/index.js';
import { dataQualityQueues, dataQualitySchedules } from '../data-quality/index.js';
import { changeQueues, changeSchedules } from '../changes/index.js';
import { CHECKPOINT_QUEUE } from '../integrity/index.js';
import { exceptionQueues, exceptionSchedules } from '../exceptions/index.js';
import { autoRemediate, remediationQueues, remediationSchedules, RESUME_QUEUE, type RemediationJobContext } from '../remediation/index.js';
import { createEvaluation, runEvaluation } from '../evaluation/evaluate.js';
import { CATALOG_EVALUATION_QUEUE, CATALOG_EVALUATION_SCHEDULE, CatalogEvaluator } from '../evaluation/catalog-evaluation.js';
import type { PolicyService } from '../policy/service.js';
import { createRun, executeRun } from '../sources/collections.js';
import { decisionLogQueues, decisionLogSchedules, DECISION_LOG_QUEUE } from '../policy/decision-log-retention.js';
import type { AlertService } from '../alerts/service.js';
import { JobQueue } from './queue.js';

/**
 * The background work of Custos as durable jobs: a collection run, then the evaluation that follows
 * it. A scheduled collection (CUSTOS_COLLECTION_SCHEDULE) starts a run over all enabled sources.
 */
export class Workflows {
  private readonly queue: JobQueue;
  /** Evaluates committed catalog changes: in the request that made them, and in the sweep (src/evaluation/catalog-evaluation.ts). */
  readonly catalog: CatalogEvaluator;

  constructor(
    private readonly db: Knex,
    private readonly policy: PolicyService,
    private readonly log: FastifyBaseLogger,
    private readonly options: { databaseUrl: string; awsEndpointUrl?: string; awsMaxAttempts: number; schedule?: string; work: boolean; autoRemediate?: boolean; remediationStepDelayMs?: number; decisionLogRetentionDays?: number; alerts?: AlertService; checkpoint?: { cron: string; write: () => Promise<unknown> } },
  ) {
    this.queue = new JobQueue(options.databaseUrl, log);
    this.catalog = new CatalogEvaluator(db, policy, log, async () => this.options.alerts?.trigger('evaluation finished'));
  }

  async start(): Promise<void> {
    await this.queue.start(
      [
        { name: 'collection', expireInSeconds: 3600, handler: async ({ runId }) => this.afterCollection(await executeRun(this.db, runId!, { endpoint: this.options.awsEndpointUrl, maxAttempts: this.options.awsMaxAttempts })) },
        { name: 'evaluation', expireInSeconds: 1800, handler: async ({ evaluationId }) => this.afterEvaluation(await runEvaluation(this.db, this.policy, evaluationId!)) },
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
          aws: { endpoint: this.options.awsEndpointUrl, maxAttempts: this.options.awsMaxAttempts },
          send: (queue, data, key) => this.queue.send(queue, data, key),
        }),
      ],
      {
        work: this.options.work,
        schedules: [...(this.options.schedule ? [{ queue: 'scheduled-collection', cron: this.options.schedule }] : []), CATALOG_EVALUATION_SCHEDULE, ...grantSchedules, ...exceptionSchedules, ...remediationSchedules, ...decisionLogSchedules, ...(this.options.alerts?.schedules ?? []), ...dataQualitySchedules, ...changeSchedules, ...(this.options.checkpoint ? [{ queue: CHECKPOINT_QUEUE, cron: this.options.checkpoint.cron }] : [])],
      },
    );
    // Executions whose process died resume now rather than at the next minute's sweep.
    if (this.options.work) await this.queue.send(RESUME_QUEUE, {}, `${RESUME_QUEUE}:start`);
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

  /** Queues a run created by createRun. */
  collect(runId: string): Promise<void> {
    return this.queue.send('collection', { runId }, `collection:${runId}`);
  }

  /** Queues an evaluation of a finished run. */
  async evaluateRun(runId: string, trigger: 'api' | 'collection' | 'schedule' | 'demo', requestedBy: string) {
    const evaluation = await createEvaluation(this.db, { runId, trigger, requestedBy });
    await this.queue.send('evaluation', { evaluationId: evaluation.id }, `evaluation:${evaluation.id}`);
    return evaluation;
  }

  private async afterCollection(run: { id: string; status: string } | undefined) {
    await this.options.alerts?.trigger('collection run finished');
    if (run && ['complete', 'partial'].includes(run.status)) await this.evaluateRun(run.id, 'collection', 'system:collection');
  }

  private async scheduledCollection() {
    const context = { actor: 'system:schedule', actorKeyId: null, role: 'system' };
    try {
      const run = await this.db.transaction((trx) => createRun(trx, { trigger: 'schedule', context }));
      await this.collect(run.id);
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'scheduled collection not started');
    }
  }
}
