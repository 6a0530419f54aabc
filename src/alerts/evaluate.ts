import type { FastifyBaseLogger } from 'fastify';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { canonicalJson } from '../evidence/chain.js';
import type { Alert, StoredChannel } from './alerts.js';
import { METRICS, metricNamed, type Link, type MetricContext, type MetricDefinition, type Observation } from './metrics.js';

export type NotificationKind = 'fired' | 'renotified' | 'resolved' | 'test';

export interface AlertEventRow {
  id: string;
  alert_id: string | null;
  alert_name: string;
  metric: string;
  severity: string;
  dimension_key: string;
  dimensions: Record<string, string>;
  state: 'open' | 'resolved' | 'closed';
  value: string;
  threshold: string;
  comparison: string;
  links: Link[];
  opened_at: Date;
  resolved_at: Date | null;
  last_notified_at: Date | null;
  notifications: number;
  muted_until: Date | null;
  mute_reason: string | null;
  muted_by: string | null;
  history: Array<Record<string, unknown>>;
}

export interface EvaluationContext {
  db: Knex;
  log: FastifyBaseLogger;
  controlStatuses: MetricContext['controlStatuses'];
  /** Base of the links in messages (CUSTOS_PUBLIC_URL). */
  publicUrl: string;
  /** Queues the delivery of outbox rows already committed. */
  deliver(notificationIds: string[]): Promise<void>;
  /** The clock (tests move it forward instead of waiting out a window); default: the system's. */
  now?: () => Date;
}

const COMPARE: Record<string, (value: number, threshold: number) => boolean> = {
  gt: (v, t) => v > t,
  gte: (v, t) => v >= t,
  lt: (v, t) => v < t,
  lte: (v, t) => v <= t,
  eq: (v, t) => v === t,
};

const HISTORY_LIMIT = 100;
const appendHistory = (history: Array<Record<string, unknown>>, entry: Record<string, unknown>) => JSON.stringify([...history, { at: new Date().toISOString(), ...entry }].slice(-HISTORY_LIMIT));

interface Group {
  key: string;
  dimensions: Record<string, string>;
  value: number;
  links: Link[];
}

/** The alert's view of a metric: the dimension filter applied, then summed per key of its group_by dimensions. */
export function groupObservations(metric: MetricDefinition, alert: Pick<Alert, 'dimension_filter' | 'group_by'>, observations: Observation[]): Group[] {
  const by = alert.group_by ?? metric.dimensions;
  const filter = Object.entries(alert.dimension_filter ?? {});
  const groups = new Map<string, { dimensions: Record<string, string>; num: number; den: number; links: Link[] }>();
  for (const o of observations) {
    if (!filter.every(([k, v]) => o.dimensions[k] === v)) continue;
    const dimensions = Object.fromEntries(by.map((d) => [d, o.dimensions[d] ?? '']));
    const key = canonicalJson(dimensions);
    const group = groups.get(key) ?? { dimensions, num: 0, den: 0, links: [] };
    group.num += o.num;
    group.den += o.den ?? 0;
    if (group.links.length < 20) group.links.push(...o.links.slice(0, 20 - group.links.length));
    groups.set(key, group);
  }
  return [...groups.entries()].map(([key, g]) => ({ key, dimensions: g.dimensions, value: metric.unit === 'ratio' ? (g.den > 0 ? g.num / g.den : 0) : g.num, links: g.links }));
}

/** The message a receiver gets; `event_id` is what it de-duplicates on (also the webhook-id header). */
export function messagePayload(kind: NotificationKind, messageId: string, alert: Pick<Alert, 'id' | 'name' | 'metric' | 'severity' | 'comparison' | 'threshold' | 'window_minutes'>, event: Pick<AlertEventRow, 'id' | 'dimensions' | 'value' | 'state' | 'opened_at' | 'resolved_at' | 'links'> | null, publicUrl: string) {
  const links = (event?.links ?? []).map((l) => ({ rel: l.rel, href: publicUrl + l.href }));
  if (event) links.unshift({ rel: 'alert_event', href: `${publicUrl}/v1/alert-events/${event.id}` });
  const dims = event ? Object.entries(event.dimensions).map(([k, v]) => `${k}=${v}`).join(', ') : '';
  const value = event ? Number(event.value) : null;
  const verb = { fired: 'FIRING', renotified: 'STILL FIRING', resolved: 'RESOLVED', test: 'TEST' }[kind];
  return {
    type: `alert.${kind}`,
    event_id: messageId,
    timestamp: new Date().toISOString(),
    summary: `[${verb}] ${alert.severity.toUpperCase()} ${alert.name}: ${alert.metric}${dims ? ` (${dims})` : ''}${value === null ? '' : ` = ${value}`}, ${alert.comparison} ${Number(alert.threshold)}`,
    alert: { id: alert.id, name: alert.name, metric: alert.metric, severity: alert.severity, comparison: alert.comparison, threshold: Number(alert.threshold), window_minutes: alert.window_minutes ?? null },
    alert_event: event ? { id: event.id, state: event.state, dimensions: event.dimensions, value, opened_at: new Date(event.opened_at).toISOString(), resolved_at: event.resolved_at ? new Date(event.resolved_at).toISOString() : null } : null,
    links,
  };
}

/** Writes one outbox row per channel for a message (in the caller's transaction); returns their ids. */
export async function enqueueMessage(trx: Knex.Transaction, alert: Pick<Alert, 'id' | 'name' | 'metric' | 'severity' | 'comparison' | 'threshold' | 'window_minutes' | 'notification_channels'>, kind: NotificationKind, event: AlertEventRow | null, publicUrl: string): Promise<string[]> {
  const messageId = `msg_${uuidv7()}`;
  const payload = messagePayload(kind, messageId, alert, event, publicUrl);
  const rows = alert.notification_channels.map((channel: StoredChannel) => ({
    id: uuidv7(),
    message_id: messageId,
    kind,
    alert_id: alert.id,
    alert_event_id: event?.id ?? null,
    channel_id: channel.id,
    channel: JSON.stringify(channel),
    channel_type: channel.type,
    payload: JSON.stringify(payload),
    status: 'pending',
  }));
  if (rows.length) await trx('alert_notifications').insert(rows);
  return rows.map((r) => r.id);
}

/**
 * Evaluates the enabled alerts of the given metrics (all when omitted): each metric is computed once
 * per window, then per alert and dimension key an alert event opens (notified), stays open
 * (re-notified after renotify_minutes unless muted) or resolves (notified). Each alert's changes and
 * their outbox rows commit together under a per-alert lock, so concurrent evaluations on several
 * instances never open the same alert twice. A metric that cannot be computed changes nothing:
 * missing data never resolves an alert.
 */
export async function evaluateAlerts(context: EvaluationContext, metricNames?: string[]): Promise<{ opened: number; resolved: number; renotified: number }> {
  const totals = { opened: 0, resolved: 0, renotified: 0 };
  await closeOrphans(context.db);
  const query = context.db('alerts').where({ enabled: true }).orderBy('id');
  if (metricNames) query.whereIn('metric', metricNames);
  const configured: Alert[] = await query;
  const computed = new Map<string, Promise<Observation[]>>();
  const now = context.now?.() ?? new Date();
  for (const alert of configured) {
    const metric = metricNamed(alert.metric);
    if (!metric) continue;
    const windowMinutes = alert.window_minutes ?? metric.window?.defaultMinutes ?? 0;
    const cacheKey = `${metric.name}|${windowMinutes}`;
    if (!computed.has(cacheKey)) computed.set(cacheKey, metric.compute({ db: context.db, now, windowMinutes, controlStatuses: context.controlStatuses }));
    let observations: Observation[];
    try {
      observations = await computed.get(cacheKey)!;
    } catch (error) {
      context.log.warn({ err: (error as Error).message, metric: metric.name }, 'alert metric not computed; its alerts are left as they are');
      continue;
    }
    const groups = groupObservations(metric, alert, observations);
    const outcome = await applyAlert(context, alert, groups, now);
    totals.opened += outcome.opened;
    totals.resolved += outcome.resolved;
    totals.renotified += outcome.renotified;
  }
  return totals;
}

async function applyAlert(context: EvaluationContext, alert: Alert, groups: Group[], now: Date) {
  const counts = { opened: 0, resolved: 0, renotified: 0 };
  const threshold = Number(alert.threshold);
  const fires = COMPARE[alert.comparison]!;
  const notificationIds = await context.db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`alert:${alert.id}`]);
    // Disabled, deleted or changed since it was read: a change (PATCH locks the row) wins over this evaluation.
    const still: { version: number; enabled: boolean } | undefined = await trx('alerts').where({ id: alert.id }).forShare().first('version', 'enabled');
    if (!still?.enabled || still.version !== alert.version) return [];
    const open: AlertEventRow[] = await trx('alert_events').where({ alert_id: alert.id, state: 'open' });
    const openByKey = new Map(open.map((e) => [e.dimension_key, e]));
    const ids: string[] = [];
    const seen = new Set<string>();
    // Open alerts whose key no longer appears have the value 0 (nothing counted).
    const all = [...groups, ...open.filter((e) => !groups.some((g) => g.key === e.dimension_key)).map((e) => ({ key: e.dimension_key, dimensions: e.dimensions, value: 0, links: [] as Link[] }))];
    for (const group of all) {
      if (seen.has(group.key)) continue;
      seen.add(group.key);
      const current = openByKey.get(group.key);
      const firing = fires(group.value, threshold);
      if (firing && !current) {
        const [event]: AlertEventRow[] = await trx('alert_events')
          .insert({
            id: uuidv7(),
            alert_id: alert.id,
            alert_name: alert.name,
            metric: alert.metric,
            severity: alert.severity,
            dimension_key: group.key,
            dimensions: JSON.stringify(group.dimensions),
            state: 'open',
            value: group.value,
            threshold,
            comparison: alert.comparison,
            links: JSON.stringify(group.links),
            last_notified_at: now,
            notifications: 1,
            history: appendHistory([], { kind: 'fired', value: group.value }),
          })
          .returning('*');
        ids.push(...(await enqueueMessage(trx, alert, 'fired', event!, context.publicUrl)));
        counts.opened++;
      } else if (firing && current) {
        const muted = current.mute_reason !== null && (current.muted_until === null || new Date(current.muted_until) > now);
        const due = alert.renotify_minutes != null && current.last_notified_at !== null && now.getTime() - new Date(current.last_notified_at).getTime() >= alert.renotify_minutes * 60_000;
        const update: Record<string, unknown> = { value: group.value, links: JSON.stringify(group.links.length ? group.links : current.links) };
        if (due && !muted) {
          Object.assign(update, { last_notified_at: now, notifications: current.notifications + 1, history: appendHistory(current.history, { kind: 'renotified', value: group.value }) });
          const [event] = await trx('alert_events').update(update).where({ id: current.id }).returning('*');
          ids.push(...(await enqueueMessage(trx, alert, 'renotified', event, context.publicUrl)));
          counts.renotified++;
        } else if (Number(current.value) !== group.value) {
          await trx('alert_events').update(update).where({ id: current.id });
        }
      } else if (!firing && current) {
        const [event] = await trx('alert_events')
          .update({ state: 'resolved', resolved_at: now, value: group.value, history: appendHistory(current.history, { kind: 'resolved', value: group.value }) })
          .where({ id: current.id })
          .returning('*');
        // The resolve notice is sent even while muted: receivers close what they opened.
        ids.push(...(await enqueueMessage(trx, alert, 'resolved', event, context.publicUrl)));
        counts.resolved++;
      }
    }
    return ids;
  });
  if (notificationIds.length) await context.deliver(notificationIds);
  return counts;
}

/** Open alerts of configurations deleted or disabled since are closed without a notification. */
async function closeOrphans(db: Knex) {
  const orphans: AlertEventRow[] = await db('alert_events as e')
    .leftJoin('alerts as a', 'a.id', 'e.alert_id')
    .where('e.state', 'open')
    .where((q) => q.whereNull('a.id').orWhere('a.enabled', false))
    .select('e.*')
    .limit(500);
  for (const event of orphans) {
    await db('alert_events')
      .update({ state: 'closed', resolved_at: db.fn.now(), history: appendHistory(event.history, { kind: 'closed', reason: event.alert_id ? 'the alert configuration was disabled' : 'the alert configuration was deleted' }) })
      .where({ id: event.id, state: 'open' });
  }
}

/** Metrics whose alerts an event-driven evaluation recomputes (expensive, schedule-only ones excluded). */
export const EVENT_METRICS = METRICS.filter((m) => m.events.length > 0).map((m) => m.name);
export const metricsOnSchedule = (schedule: 'minute' | 'hourly') => METRICS.filter((m) => m.schedule === schedule).map((m) => m.name);
