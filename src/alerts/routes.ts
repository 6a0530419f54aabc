import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../audit/repository.js';
import { auditContext } from '../auth/plugin.js';
import { CATALOG_READERS, RISK_OWNERS } from '../auth/roles.js';
import { paginate } from '../db/pagination.js';
import { conflict, invalidField, notFound, problemResponses } from '../http/problem.js';
import { IdParams, IsoDateTime, Nullable, Page, PageQuery, StringEnum, Uuid } from '../http/schemas.js';
import { ALERT_SEVERITIES, CHANNEL_TYPES, type Alert } from './alerts.js';
import { enqueueMessage, type AlertEventRow } from './evaluate.js';
import { METRICS } from './metrics.js';
import { newSecret } from './secrets.js';
import type { AlertService } from './service.js';

const Link = Type.Object({ rel: Type.String(), href: Type.String() });
const AlertEvent = Type.Object({
  id: Uuid,
  alert_id: Nullable(Uuid),
  alert_name: Type.String(),
  metric: Type.String(),
  severity: Type.String(),
  dimensions: Type.Record(Type.String(), Type.String()),
  state: StringEnum(['open', 'resolved', 'closed'], { description: 'closed: its configuration was disabled or deleted while open' }),
  value: Type.Number(),
  threshold: Type.Number(),
  comparison: Type.String(),
  links: Type.Array(Link),
  opened_at: IsoDateTime,
  resolved_at: Nullable(IsoDateTime),
  last_notified_at: Nullable(IsoDateTime),
  notifications: Type.Integer({ description: 'messages sent for it (fired and re-notified)' }),
  muted_until: Nullable(IsoDateTime),
  mute_reason: Nullable(Type.String({ description: 'set while muted; with muted_until null, muted until it resolves' })),
  muted_by: Nullable(Type.String()),
  history: Type.Array(Type.Record(Type.String(), Type.Unknown()), { description: 'fired, re-notified, muted, unmuted, resolved, closed: when, value, who and why' }),
});
const Attempt = Type.Object({ attempt: Type.Integer(), status: Type.String({ examples: ['delivered'] }), response_code: Nullable(Type.Integer()), latency_ms: Type.Integer(), error: Nullable(Type.String()), at: IsoDateTime });
const Notification = Type.Object({
  id: Uuid,
  message_id: Type.String({ description: 'the event id receivers de-duplicate on (webhook-id header)' }),
  kind: Type.String({ examples: ['fired'] }),
  alert_id: Nullable(Uuid),
  alert_event_id: Nullable(Uuid),
  channel_id: Uuid,
  channel_type: StringEnum(CHANNEL_TYPES),
  target: Type.String(),
  status: StringEnum(['pending', 'delivered', 'dead'], { description: 'dead: every attempt failed (the dead letter)' }),
  attempts: Type.Array(Attempt),
  next_attempt_at: Nullable(IsoDateTime),
  last_error: Nullable(Type.String()),
  created_at: IsoDateTime,
  delivered_at: Nullable(IsoDateTime),
});
const Reason = Type.String({ minLength: 3, maxLength: 2000 });

const eventView = (e: AlertEventRow) => ({ ...e, value: Number(e.value), threshold: Number(e.threshold) });
const targetOf = (c: { type: string; url?: string; topic_arn?: string; address?: string }) => c.url ?? c.topic_arn ?? c.address ?? '';

export default async function alertRoutes(app: FastifyInstance, { service }: { service: AlertService }) {
  app.get('/v1/alert-metrics', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['alerts'],
      summary: 'The metrics an alert can watch: dimensions, unit, what the window means, when each is evaluated',
      response: {
        200: Type.Object({
          items: Type.Array(
            Type.Object({
              name: Type.String({ examples: ['findings.open'] }),
              description: Type.String({ examples: ['Open findings, by severity, rule and account'] }),
              unit: Type.String(),
              dimensions: Type.Array(Type.String()),
              window: Nullable(Type.Object({ meaning: Type.String(), default_minutes: Type.Integer() })),
              evaluated_on: Type.Array(Type.String()),
              schedule: Type.String(),
            }),
          ),
        }),
        ...problemResponses(401, 403),
      },
    },
    handler: async () => ({
      items: METRICS.map((m) => ({ name: m.name, description: m.description, unit: m.unit, dimensions: m.dimensions, window: m.window ? { meaning: m.window.meaning, default_minutes: m.window.defaultMinutes } : null, evaluated_on: m.events, schedule: m.schedule === 'minute' ? 'every minute' : 'hourly' })),
    }),
  });

  app.get('/v1/alert-events', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['alerts'],
      summary: 'Fired alerts, newest first, with their state and history',
      querystring: Type.Object(
        {
          ...PageQuery,
          alert_id: Type.Optional(Uuid),
          state: Type.Optional(StringEnum(['open', 'resolved', 'closed'])),
          metric: Type.Optional(Type.String({ maxLength: 200 })),
          severity: Type.Optional(StringEnum(ALERT_SEVERITIES)),
          muted: Type.Optional(Type.Boolean()),
          from: Type.Optional(IsoDateTime),
          to: Type.Optional(IsoDateTime),
        },
        { additionalProperties: false },
      ),
      response: { 200: Page(AlertEvent), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const q = request.query as { limit?: number; cursor?: string; alert_id?: string; state?: string; metric?: string; severity?: string; muted?: boolean; from?: string; to?: string };
      const query = app.db('alert_events').select('*');
      for (const field of ['alert_id', 'state', 'metric', 'severity'] as const) if (q[field] !== undefined) query.where(field, q[field]);
      const muted = "(mute_reason IS NOT NULL AND (muted_until IS NULL OR muted_until > now()))";
      if (q.muted === true) query.whereRaw(muted);
      if (q.muted === false) query.whereRaw(`NOT ${muted}`);
      if (q.from) query.where('opened_at', '>=', q.from);
      if (q.to) query.where('opened_at', '<', q.to);
      const page = await paginate<AlertEventRow & Record<string, unknown>>(query, q, [{ sql: 'id', field: 'id' }], 'desc');
      return { items: page.items.map(eventView), next_cursor: page.next_cursor };
    },
  });

  app.get('/v1/alert-events/:id', {
    config: { roles: CATALOG_READERS },
    schema: { tags: ['alerts'], summary: 'One fired alert with its history', params: IdParams, response: { 200: AlertEvent, ...problemResponses(400, 401, 403, 404) } },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const event: AlertEventRow | undefined = await app.db('alert_events').where({ id }).first();
      if (!event) throw notFound('alert event', id);
      return eventView(event);
    },
  });

  app.post('/v1/alert-events/:id/mute', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: ['alerts'],
      summary: 'Mute (until resolved) or snooze (until a time) an open alert: no re-notification meanwhile; audited',
      params: IdParams,
      body: Type.Object({ reason: Reason, until: Type.Optional(IsoDateTime) }, { additionalProperties: false }),
      response: { 200: AlertEvent, ...problemResponses(400, 401, 403, 404, 409) },
    },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const { reason, until } = request.body as { reason: string; until?: string };
      if (until !== undefined && new Date(until) <= new Date()) throw invalidField('until', 'must be in the future');
      return app.db.transaction(async (trx) => {
        const event: AlertEventRow | undefined = await trx('alert_events').where({ id }).forUpdate().first();
        if (!event) throw notFound('alert event', id);
        if (event.state !== 'open') throw conflict(`alert event ${id} is ${event.state}; only an open alert can be muted`);
        // No `until`: muted until it resolves (muted_until stays null, the reason marks it muted).
        const mutedUntil = until ?? null;
        const history = JSON.stringify([...event.history, { at: new Date().toISOString(), kind: until ? 'snoozed' : 'muted', until: until ?? null, actor: request.actor.name, reason }].slice(-100));
        const [updated] = await trx('alert_events').update({ muted_until: mutedUntil, mute_reason: reason, muted_by: request.actor.name, history }).where({ id }).returning('*');
        await recordAudit(trx, auditContext(request), { action: until ? 'snooze' : 'mute', entity: 'alert-events', entityId: id, oldValue: { muted_until: event.muted_until }, newValue: { muted_until: until ?? 'until resolved', reason } });
        return eventView(updated);
      });
    },
  });

  app.post('/v1/alert-events/:id/unmute', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: ['alerts'],
      summary: 'End a mute or snooze; audited',
      params: IdParams,
      body: Type.Object({ reason: Reason }, { additionalProperties: false }),
      response: { 200: AlertEvent, ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const { reason } = request.body as { reason: string };
      return app.db.transaction(async (trx) => {
        const event: AlertEventRow | undefined = await trx('alert_events').where({ id }).forUpdate().first();
        if (!event) throw notFound('alert event', id);
        const history = JSON.stringify([...event.history, { at: new Date().toISOString(), kind: 'unmuted', actor: request.actor.name, reason }].slice(-100));
        const [updated] = await trx('alert_events').update({ muted_until: null, mute_reason: null, muted_by: null, history }).where({ id }).returning('*');
        await recordAudit(trx, auditContext(request), { action: 'unmute', entity: 'alert-events', entityId: id, oldValue: { muted_until: event.muted_until, reason: event.mute_reason }, newValue: { muted_until: null, reason } });
        return eventView(updated);
      });
    },
  });

  app.get('/v1/notifications', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['alerts'],
      summary: 'The delivery log: each notification (one message to one channel) with every attempt, newest first',
      querystring: Type.Object(
        {
          ...PageQuery,
          alert_id: Type.Optional(Uuid),
          alert_event_id: Type.Optional(Uuid),
          message_id: Type.Optional(Type.String({ maxLength: 100 })),
          status: Type.Optional(StringEnum(['pending', 'delivered', 'dead'])),
          channel_type: Type.Optional(StringEnum(CHANNEL_TYPES)),
          kind: Type.Optional(StringEnum(['fired', 'renotified', 'resolved', 'test'])),
        },
        { additionalProperties: false },
      ),
      response: { 200: Page(Notification), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const q = request.query as Record<string, string | number | undefined> & { limit?: number; cursor?: string };
      const query = app.db('alert_notifications').select('id', 'message_id', 'kind', 'alert_id', 'alert_event_id', 'channel_id', 'channel', 'channel_type', 'status', 'next_attempt_at', 'last_error', 'created_at', 'delivered_at');
      for (const field of ['alert_id', 'alert_event_id', 'message_id', 'status', 'channel_type', 'kind']) if (q[field] !== undefined) query.where(field, q[field]);
      const page = await paginate<Record<string, any>>(query, q, [{ sql: 'id', field: 'id' }], 'desc');
      const attempts: Array<Record<string, any>> = page.items.length
        ? await app.db('alert_delivery_attempts').whereIn('notification_id', page.items.map((n) => n.id)).orderBy(['notification_id', 'attempt']).select('notification_id', 'attempt', 'status', 'response_code', 'latency_ms', 'error', 'at')
        : [];
      return {
        items: page.items.map(({ channel, ...n }) => ({
          ...n,
          target: targetOf(channel),
          next_attempt_at: n.status === 'pending' ? n.next_attempt_at : null,
          attempts: attempts.filter((a) => a.notification_id === n.id).map(({ notification_id: _n, ...a }) => a),
        })),
        next_cursor: page.next_cursor,
      };
    },
  });

  app.post('/v1/notifications/:id/retry', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: ['alerts'],
      summary: 'Send a dead-lettered notification again (after the receiver is fixed): same message and event id, a fresh set of attempts',
      description: 'Only a notification in the dead letter (`status: dead`) can be retried; its earlier attempts stay in the log. Receivers that honour the event id (`webhook-id`) drop it if an earlier attempt did arrive. Audited.',
      params: IdParams,
      body: Type.Object({}, { additionalProperties: false, description: 'empty: {}' }),
      response: {
        202: Type.Object({ id: Uuid, message_id: Type.String(), status: StringEnum(['pending']), previous_attempts: Type.Integer() }),
        ...problemResponses(400, 401, 403, 404, 409),
      },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const retried = await app.db.transaction(async (trx) => {
        const row: { id: string; message_id: string; status: string; attempts: number; last_error: string | null } | undefined = await trx('alert_notifications').where({ id }).forUpdate().first('id', 'message_id', 'status', 'attempts', 'last_error');
        if (!row) throw notFound('notification', id);
        if (row.status !== 'dead') throw conflict(`notification ${id} is ${row.status}; only a dead-lettered notification can be retried`);
        // A fresh set of attempts; their numbers continue the delivery log's (migration 025).
        await trx('alert_notifications').update({ status: 'pending', max_attempts: row.attempts + service.deliveryContext().maxAttempts, next_attempt_at: trx.fn.now() }).where({ id });
        await recordAudit(trx, auditContext(request), { action: 'retry', entity: 'notifications', entityId: id, oldValue: { status: 'dead', attempts: row.attempts, last_error: row.last_error }, newValue: { status: 'pending' } });
        return { id, message_id: row.message_id, status: 'pending' as const, previous_attempts: row.attempts };
      });
      await service.deliver([id]);
      return reply.code(202).send(retried);
    },
  });

  app.post('/v1/alerts/:id/test', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: ['alerts'],
      summary: 'Send a test message to every channel of an alert (delivered like any other; see /v1/notifications)',
      params: IdParams,
      body: Type.Object({}, { additionalProperties: false, description: 'empty: {}' }),
      response: { 202: Type.Object({ message_id: Type.String(), notifications: Type.Array(Uuid) }), ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as IdParams;
      const ids = await app.db.transaction(async (trx) => {
        const alert: Alert | undefined = await trx('alerts').where({ id }).first();
        if (!alert) throw notFound('alert', id);
        const created = await enqueueMessage(trx, alert, 'test', null, service.evaluationContext().publicUrl);
        await recordAudit(trx, auditContext(request), { action: 'test', entity: 'alerts', entityId: id, newValue: { notifications: created } });
        return created;
      });
      await service.deliver(ids);
      const messageId = (await app.db('alert_notifications').where({ id: ids[0] }).first('message_id')).message_id;
      return reply.code(202).send({ message_id: messageId, notifications: ids });
    },
  });

  app.post('/v1/alerts/:id/channels/:channelId/rotate-secret', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: ['alerts'],
      summary: 'Rotate a webhook channel’s signing secret: the new one is shown once; messages are signed with both for 24 hours',
      params: Type.Object({ id: Uuid, channelId: Uuid }, { additionalProperties: false }),
      body: Type.Object({}, { additionalProperties: false, description: 'empty: {}' }),
      response: { 200: Type.Object({ channel_id: Uuid, secret: Type.String(), previous_valid_until: IsoDateTime }), ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request) => {
      const { id, channelId } = request.params as { id: string; channelId: string };
      return app.db.transaction(async (trx) => {
        const current = await trx('alert_channel_secrets').where({ channel_id: channelId, alert_id: id }).forUpdate().first();
        if (!current) throw notFound('webhook channel', `${id}/${channelId}`);
        const secret = newSecret();
        const previousValidUntil = new Date(Date.now() + 24 * 3600_000);
        await trx('alert_channel_secrets').update({ secret, previous_secret: current.secret, previous_valid_until: previousValidUntil, rotated_at: trx.fn.now() }).where({ channel_id: channelId });
        await recordAudit(trx, auditContext(request), { action: 'rotate-secret', entity: 'alerts', entityId: id, newValue: { channel_id: channelId, previous_valid_until: previousValidUntil.toISOString() } });
        return { channel_id: channelId, secret, previous_valid_until: previousValidUntil.toISOString() };
      });
    },
  });
}
