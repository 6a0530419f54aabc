import type https from 'node:https';
import type { FastifyBaseLogger } from 'fastify';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import type { StoredChannel } from './alerts.js';
import { sendEmail, sendSns, sendWebhook, type ChannelSettings, type Message, type Outcome } from './channels.js';
import type { ChannelSecret } from './secrets.js';

export const DELIVERY_QUEUE = 'alert-delivery';
export const DELIVERY_SWEEP_QUEUE = 'alert-delivery-sweep';

export interface DeliveryContext {
  db: Knex;
  log: FastifyBaseLogger;
  settings: ChannelSettings;
  agent: https.Agent;
  /** Attempts before a notification is dead-lettered. */
  maxAttempts: number;
  /** First retry delay; doubled after each failure, capped at an hour. */
  retryBaseMs: number;
  /** Queues a delivery job now, or after a date (a retry). */
  queue(notificationId: string, startAfter?: Date): Promise<void>;
}

interface NotificationRow {
  id: string;
  message_id: string;
  kind: string;
  alert_id: string | null;
  channel_id: string;
  channel: StoredChannel;
  channel_type: string;
  payload: Message['payload'];
  status: 'pending' | 'delivered' | 'dead';
  attempts: number;
  /** Raised by a retry of a dead-lettered row; null: the configured limit. */
  max_attempts: number | null;
  next_attempt_at: Date;
}

export const backoffMs = (attempts: number, baseMs: number) => Math.min(baseMs * 2 ** Math.max(0, attempts - 1), 3_600_000);

async function send(context: DeliveryContext, trx: Knex.Transaction, row: NotificationRow): Promise<Outcome> {
  const message: Message = { messageId: row.message_id, payload: row.payload };
  switch (row.channel.type) {
    case 'webhook': {
      const secrets: ChannelSecret | undefined = await trx('alert_channel_secrets').where({ channel_id: row.channel_id }).first();
      if (!secrets) return { status: 'failed', responseCode: null, error: 'the channel was removed from its alert: no signing secret', permanent: true };
      return sendWebhook(row.channel, secrets, message, context.settings, context.agent);
    }
    case 'sns':
      return sendSns(row.channel, message, context.settings);
    case 'email':
      return sendEmail(row.channel, message, context.settings);
    default:
      return { status: 'failed', responseCode: null, error: `unknown channel type ${String(row.channel.type)}`, permanent: true };
  }
}

/**
 * One delivery attempt of one outbox row. The row is locked (FOR UPDATE SKIP LOCKED) for the whole
 * attempt, so only one worker on any instance sends it at a time; if the process dies mid-attempt
 * the lock goes with its connection and the row is still pending, so it is sent again, with the same
 * event id (webhook-id), which is what receivers de-duplicate on. Failures are retried with
 * exponential backoff until maxAttempts, then the row is dead-lettered (status `dead`).
 */
export async function deliverNotification(context: DeliveryContext, notificationId: string): Promise<void> {
  const retryAt = await context.db.transaction(async (trx) => {
    const row: NotificationRow | undefined = await trx('alert_notifications').where({ id: notificationId, status: 'pending' }).forUpdate().skipLocked().first();
    if (!row || new Date(row.next_attempt_at) > new Date()) return undefined;
    const started = performance.now();
    const outcome = await send(context, trx, row);
    const attempt = row.attempts + 1;
    await trx('alert_delivery_attempts').insert({
      id: uuidv7(),
      notification_id: row.id,
      attempt,
      channel_type: row.channel_type,
      status: outcome.status,
      response_code: outcome.responseCode,
      latency_ms: Math.round(performance.now() - started),
      error: outcome.error?.slice(0, 1000) ?? null,
    });
    if (outcome.status === 'delivered') {
      await trx('alert_notifications').update({ status: 'delivered', attempts: attempt, delivered_at: trx.fn.now(), last_error: null }).where({ id: row.id });
      return undefined;
    }
    if (outcome.permanent || attempt >= (row.max_attempts ?? context.maxAttempts)) {
      await trx('alert_notifications').update({ status: 'dead', attempts: attempt, last_error: outcome.error?.slice(0, 1000) ?? null }).where({ id: row.id });
      context.log.warn({ notification: row.id, channel: row.channel_type, attempts: attempt, err: outcome.error }, 'alert notification dead-lettered');
      return undefined;
    }
    const next = new Date(Date.now() + backoffMs(attempt, context.retryBaseMs));
    await trx('alert_notifications').update({ attempts: attempt, next_attempt_at: next, last_error: outcome.error?.slice(0, 1000) ?? null }).where({ id: row.id });
    return next;
  });
  if (retryAt) await context.queue(notificationId, retryAt);
}

/**
 * The outbox relay's safety net (at start-up and every minute): pending rows that are due get a
 * job again, e.g. after a crash between the commit and the queueing, or mid-attempt. A row that
 * already has a job is skipped by the row lock or finds itself delivered.
 */
export async function sweepOutbox(context: Pick<DeliveryContext, 'db' | 'queue'>): Promise<number> {
  const due: Array<{ id: string }> = await context.db('alert_notifications').select('id').where({ status: 'pending' }).where('next_attempt_at', '<=', context.db.fn.now()).orderBy('next_attempt_at').limit(1000);
  for (const { id } of due) await context.queue(id);
  return due.length;
}
