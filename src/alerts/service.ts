import { readFileSync } from 'node:fs';
import type https from 'node:https';
import type { FastifyBaseLogger } from 'fastify';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { ChangeListener } from '../db/notifications.js';
import type { QueueDefinition } from '../jobs/queue.js';
import { guardedAgent } from './address-guard.js';
import { setAllowedWebhookHosts } from './alerts.js';
import type { ChannelSettings } from './channels.js';
import { deliverNotification, DELIVERY_QUEUE, DELIVERY_SWEEP_QUEUE, sweepOutbox, type DeliveryContext } from './delivery.js';
import { EVENT_METRICS, evaluateAlerts, metricsOnSchedule, type EvaluationContext } from './evaluate.js';
import { ALERTS_CHANNEL, DecisionCounter } from './metric-events.js';
import type { MetricContext } from './metrics.js';

export const EVALUATION_QUEUE = 'alert-evaluation';
export const HOURLY_EVALUATION_QUEUE = 'alert-evaluation-hourly';
/** Policy bundle activations are announced here by the policy service (LISTEN, like every instance does). */
const BUNDLE_CHANNEL = 'custos_policy_bundle';
const FLUSH_MS = 5_000;
const ACCESS_METRICS = ['access.denied', 'access.denied_rate'];
/** Counters are kept this long (the longest useful window of a rate). */
const COUNTER_RETENTION = '8 days';

export interface JobSender {
  send(queue: string, data: Record<string, string>, key: string): Promise<void>;
  sendAfter(queue: string, data: Record<string, string>, startAfter: Date): Promise<void>;
}

/**
 * Alerts at run time: the evaluation and delivery queues, the schedules, the decision counter and
 * the listener that turns changes (audit rows, metric events, bundle activations) into an evaluation
 * soon. Evaluation and delivery are pg-boss jobs, so any instance may run them and none is lost.
 */
export class AlertService {
  readonly decisions = new DecisionCounter();
  private readonly agent: https.Agent;
  private readonly settings: ChannelSettings;
  private listener: ChangeListener | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private jobs: JobSender | undefined;

  constructor(
    private readonly db: Knex,
    private readonly log: FastifyBaseLogger,
    private readonly config: Config,
    private readonly controlStatuses: MetricContext['controlStatuses'],
  ) {
    const allowHosts = new Set(config.webhookAllowHosts);
    setAllowedWebhookHosts(config.webhookAllowHosts);
    const ca = config.webhookCaFile ? readFileSync(config.webhookCaFile, 'utf8') : undefined;
    this.agent = guardedAgent(allowHosts, ca);
    this.settings = {
      allowHosts,
      webhookCa: ca,
      timeoutMs: config.alertDeliveryTimeoutMs,
      awsEndpointUrl: config.awsEndpointUrl,
      awsRegion: config.awsRegion,
      awsMaxAttempts: config.awsMaxAttempts,
      emailFrom: config.alertEmailFrom,
    };
  }

  private get publicUrl() {
    return this.config.publicUrl ?? `http://${this.config.host}:${this.config.port}`;
  }

  evaluationContext(): EvaluationContext {
    return { db: this.db, log: this.log, controlStatuses: this.controlStatuses, publicUrl: this.publicUrl, deliver: (ids) => this.deliver(ids) };
  }

  deliveryContext(): DeliveryContext {
    return {
      db: this.db,
      log: this.log,
      settings: this.settings,
      agent: this.agent,
      maxAttempts: this.config.alertDeliveryAttempts,
      retryBaseMs: this.config.alertRetryBaseMs,
      queue: (id, startAfter) => (startAfter ? this.sender.sendAfter(DELIVERY_QUEUE, { notificationId: id }, startAfter) : this.sender.send(DELIVERY_QUEUE, { notificationId: id }, id)),
    };
  }

  private get sender(): JobSender {
    if (!this.jobs) throw new Error('the alert service has no job queue yet');
    return this.jobs;
  }

  /** Queues the delivery of committed outbox rows; the sweep covers any that a failure here leaves. */
  async deliver(ids: string[]): Promise<void> {
    const context = this.deliveryContext();
    for (const id of ids) {
      try {
        await context.queue(id);
      } catch (error) {
        this.log.warn({ err: (error as Error).message, notification: id }, 'alert delivery not queued; the outbox sweep will');
      }
    }
  }

  queues(): QueueDefinition[] {
    return [
      // `short`: at most one evaluation waits per key, so a burst of events costs one evaluation.
      { name: EVALUATION_QUEUE, policy: 'short', retryLimit: 1, expireInSeconds: 600, handler: async ({ scope }) => void (await this.evaluate(scope === 'events' ? EVENT_METRICS : scope === 'access' ? ACCESS_METRICS : metricsOnSchedule('minute'), scope === undefined)) },
      { name: HOURLY_EVALUATION_QUEUE, policy: 'short', retryLimit: 1, expireInSeconds: 3600, handler: async () => void (await this.evaluate(metricsOnSchedule('hourly'), false)) },
      // Delivery schedules its own retries (next_attempt_at): pg-boss does not retry it.
      { name: DELIVERY_QUEUE, concurrency: 4, retryLimit: 0, expireInSeconds: Math.ceil(this.config.alertDeliveryTimeoutMs / 1000) + 60, handler: async ({ notificationId }) => deliverNotification(this.deliveryContext(), notificationId!) },
      { name: DELIVERY_SWEEP_QUEUE, policy: 'short', retryLimit: 0, expireInSeconds: 300, handler: async () => void (await sweepOutbox(this.deliveryContext())) },
    ];
  }

  readonly schedules: Array<{ queue: string; cron: string }> = [
    { queue: EVALUATION_QUEUE, cron: '* * * * *' },
    { queue: HOURLY_EVALUATION_QUEUE, cron: '17 * * * *' },
    { queue: DELIVERY_SWEEP_QUEUE, cron: '* * * * *' },
  ];

  private async evaluate(metrics: string[], scheduled: boolean) {
    if (scheduled) await this.db('alert_metric_counts').where('bucket', '<', this.db.raw(`now() - interval '${COUNTER_RETENTION}'`)).delete();
    return evaluateAlerts(this.evaluationContext(), metrics);
  }

  /** Asks for an evaluation of the event-driven metrics (or only the access ones) soon, debounced by the queue. */
  async trigger(reason: string, scope: 'events' | 'access' = 'events'): Promise<void> {
    try {
      await this.sender.send(EVALUATION_QUEUE, { scope }, scope);
    } catch (error) {
      this.log.warn({ err: (error as Error).message, reason }, 'alert evaluation not queued; the schedule will run it');
    }
  }

  /** After the job queue runs: listen for changes, flush decision counters, sweep the outbox once. */
  async start(jobs: JobSender, databaseUrl: string, work: boolean): Promise<void> {
    this.jobs = jobs;
    this.listener = new ChangeListener(databaseUrl, [ALERTS_CHANNEL, BUNDLE_CHANNEL], (_channel, payload) => void this.trigger(payload), () => {}, this.log);
    await this.listener.start();
    this.flushTimer = setInterval(() => void this.flush(), FLUSH_MS);
    this.flushTimer.unref();
    if (work) await jobs.send(DELIVERY_SWEEP_QUEUE, {}, 'start');
  }

  private async flush() {
    try {
      if (await this.decisions.flush(this.db)) await this.trigger('access decisions', 'access');
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'access decision counters not stored; kept for the next flush');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flush();
    await this.listener?.stop();
    this.agent.destroy();
  }
}
