import { Type, type Static } from '@sinclair/typebox';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { CATALOG_READERS, RISK_OWNERS } from '../auth/roles.js';
import { equalityFilters, tableRepository, type CrudRepository, type Entity } from '../db/table-repository.js';
import { patchOf, type ResourceDefinition } from '../http/crud.js';
import { invalidField } from '../http/problem.js';
import { EntityMeta, Name, Nullable, StringEnum, Text, Uuid } from '../http/schemas.js';
import { literalAddressProblem } from './address-guard.js';
import { METRIC_NAMES, metricNamed } from './metrics.js';
import { newSecret } from './secrets.js';

export const COMPARISONS = ['gt', 'gte', 'lt', 'lte', 'eq'] as const;
export const ALERT_SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export const CHANNEL_TYPES = ['webhook', 'sns', 'email'] as const;

const SNS_TOPIC_ARN = /^arn:aws(-[a-z]+)*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

export const WEBHOOK_FORMATS = ['standard', 'slack'] as const;

const channelFields = {
  type: StringEnum(CHANNEL_TYPES),
  url: Type.Optional(Type.String({ format: 'uri', maxLength: 2048, description: 'webhook: https URL' })),
  format: Type.Optional(StringEnum(WEBHOOK_FORMATS, { description: 'webhook: `standard` (Custos JSON, default) or `slack` (a Slack-compatible `text` payload)' })),
  topic_arn: Type.Optional(Type.String({ maxLength: 1024, description: 'sns: topic ARN' })),
  address: Type.Optional(Type.String({ format: 'email', maxLength: 320, description: 'email: recipient' })),
};
const ChannelInput = Type.Object(
  { id: Type.Optional({ ...Uuid, description: 'on PATCH: an existing channel of this alert, kept with its signing secret; omit for a new channel' }), ...channelFields },
  { additionalProperties: false },
);
type Channel = Static<typeof ChannelInput>;
const ChannelView = Type.Object({
  id: Uuid,
  ...channelFields,
  secret: Type.Optional(Type.String({ description: 'webhook: the Standard Webhooks signing secret (whsec_…), shown only in the response that created the channel' })),
});
export type StoredChannel = Static<typeof ChannelView>;

const fields = {
  name: Type.String({ minLength: 1, maxLength: 200, examples: ['Critical findings open'] }),
  description: Type.Optional(Type.String({ maxLength: 10_000, examples: ['Pages the on-call when a critical finding is open for an hour.'] })),
  metric: Type.String({ minLength: 1, maxLength: 200, description: `one of ${METRIC_NAMES.join(', ')} (GET /v1/alert-metrics)` }),
  comparison: StringEnum(COMPARISONS),
  threshold: Type.Number(),
  severity: StringEnum(ALERT_SEVERITIES),
  notification_channels: Type.Array(ChannelInput, { minItems: 1, maxItems: 20 }),
  enabled: Type.Optional(Type.Boolean()),
  window_minutes: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 527040, description: 'what it means depends on the metric (GET /v1/alert-metrics); unset: the metric’s default' }))),
  dimension_filter: Type.Optional(Type.Record(Type.String({ maxLength: 100 }), Type.String({ maxLength: 500 }), { maxProperties: 10, description: 'only values whose dimensions equal these' })),
  group_by: Type.Optional(Nullable(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 10, uniqueItems: true, description: 'dimensions that make an alert’s key (one open alert per key); default: all the metric’s dimensions' }))),
  renotify_minutes: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 43200, description: 'while an alert stays open and unmuted, notify again after this long; unset: once' }))),
};
export const AlertCreate = Type.Object(fields, {
  additionalProperties: false,
  examples: [
    {
      name: 'Critical findings open',
      description: 'Pages the on-call when a critical finding is open.',
      metric: 'findings.open',
      comparison: 'gte',
      threshold: 1,
      severity: 'critical',
      notification_channels: [{ type: 'webhook', url: 'https://hooks.bank.example/custos', format: 'slack' }],
      dimension_filter: { severity: 'critical' },
      renotify_minutes: 60,
    },
  ],
});
export type AlertCreate = Static<typeof AlertCreate>;
export const Alert = Type.Object({
  ...EntityMeta,
  ...fields,
  description: Type.String({ maxLength: 10_000, examples: ['Pages the on-call when a critical finding is open for an hour.'] }),
  enabled: Type.Boolean(),
  notification_channels: Type.Array(ChannelView),
  window_minutes: Nullable(Type.Integer()),
  dimension_filter: Type.Record(Type.String(), Type.String()),
  group_by: Nullable(Type.Array(Type.String())),
  renotify_minutes: Nullable(Type.Integer()),
});
export type Alert = Omit<Static<typeof Alert>, 'notification_channels'> & Entity & { notification_channels: StoredChannel[] };

const REQUIRED_FIELD: Record<Channel['type'], 'url' | 'topic_arn' | 'address'> = { webhook: 'url', sns: 'topic_arn', email: 'address' };

/** Each channel carries exactly the one target its type needs, and a valid one. */
function checkChannels(channels: Channel[], allowHosts: ReadonlySet<string>) {
  channels.forEach((channel, i) => {
    if (channel.format !== undefined && channel.type !== 'webhook') throw invalidField(`notification_channels[${i}].format`, `does not belong to a ${channel.type} channel`);
    const needed = REQUIRED_FIELD[channel.type];
    for (const field of Object.values(REQUIRED_FIELD)) {
      const path = `notification_channels[${i}].${field}`;
      if (field === needed && channel[field] === undefined) throw invalidField(path, `is required for a ${channel.type} channel`);
      if (field !== needed && channel[field] !== undefined) throw invalidField(path, `does not belong to a ${channel.type} channel`);
    }
    if (channel.type === 'webhook' && !channel.url!.startsWith('https://')) {
      throw invalidField(`notification_channels[${i}].url`, 'must be an https URL');
    }
    if (channel.type === 'webhook') {
      const problem = literalAddressProblem(new URL(channel.url!).hostname, allowHosts);
      if (problem) throw invalidField(`notification_channels[${i}].url`, problem);
    }
    if (channel.type === 'sns' && !SNS_TOPIC_ARN.test(channel.topic_arn!)) {
      throw invalidField(`notification_channels[${i}].topic_arn`, 'must be an SNS topic ARN: arn:aws:sns:<region>:<account>:<topic>');
    }
  });
}

/** The metric exists, and the window, filter and grouping fit it; unknown metrics are listed. */
function checkMetric(candidate: AlertCreate) {
  const metric = metricNamed(candidate.metric);
  if (!metric) throw invalidField('metric', `unknown metric "${candidate.metric}"; valid metrics: ${METRIC_NAMES.join(', ')}`);
  if (candidate.window_minutes != null && !metric.window) throw invalidField('window_minutes', `metric ${metric.name} has no window`);
  for (const key of Object.keys(candidate.dimension_filter ?? {})) {
    if (!metric.dimensions.includes(key)) throw invalidField(`dimension_filter.${key}`, `is not a dimension of ${metric.name}; its dimensions: ${metric.dimensions.join(', ') || 'none'}`);
  }
  (candidate.group_by ?? []).forEach((key, i) => {
    if (!metric.dimensions.includes(key)) throw invalidField(`group_by[${i}]`, `is not a dimension of ${metric.name}; its dimensions: ${metric.dimensions.join(', ') || 'none'}`);
  });
}

/**
 * Channels get an id when they are created; a PATCH naming an existing id keeps that channel (and
 * its signing secret), any other id is refused, and a channel without one is new.
 */
function assignChannelIds(channels: Channel[], existing: StoredChannel[]): StoredChannel[] {
  const known = new Map(existing.map((c) => [c.id, c]));
  return channels.map((channel, i) => {
    if (channel.id === undefined) return { ...channel, id: uuidv7() } as StoredChannel;
    const current = known.get(channel.id);
    if (!current) throw invalidField(`notification_channels[${i}].id`, 'is not a channel of this alert (omit it for a new channel)');
    if (current.type !== channel.type) throw invalidField(`notification_channels[${i}].type`, `channel ${channel.id} is a ${current.type} channel; remove it and add a new one to change its type`);
    return channel as StoredChannel;
  });
}

/** Stores a new secret for each webhook channel that has none; returns them by channel id (shown once). */
async function createSecrets(trx: Knex.Transaction, alertId: string, channels: StoredChannel[]): Promise<Map<string, string>> {
  const created = new Map<string, string>();
  const webhooks = channels.filter((c) => c.type === 'webhook');
  if (webhooks.length === 0) return created;
  const existing = new Set((await trx('alert_channel_secrets').whereIn('channel_id', webhooks.map((c) => c.id)).select('channel_id')).map((r: { channel_id: string }) => r.channel_id));
  for (const channel of webhooks.filter((c) => !existing.has(c.id))) {
    const secret = newSecret();
    await trx('alert_channel_secrets').insert({ channel_id: channel.id, alert_id: alertId, secret });
    created.set(channel.id, secret);
  }
  return created;
}

const withSecrets = (alert: Alert, secrets: Map<string, string>): Alert => ({
  ...alert,
  notification_channels: alert.notification_channels.map((c) => (secrets.has(c.id) ? { ...c, secret: secrets.get(c.id) } : c)),
});

/** The alert without any secret: what the audit log keeps. */
export const withoutSecrets = (alert: Alert): Alert => ({ ...alert, notification_channels: alert.notification_channels.map(({ secret: _secret, ...c }) => c) });

/** Hosts a webhook may target although they resolve to private addresses (CUSTOS_WEBHOOK_ALLOW_HOSTS, for tests). */
let allowedWebhookHosts: ReadonlySet<string> = new Set();
export function setAllowedWebhookHosts(hosts: readonly string[]) {
  allowedWebhookHosts = new Set(hosts.map((h) => h.toLowerCase()));
}

const baseRepository = tableRepository<Alert, AlertCreate, Partial<AlertCreate>>({
  table: 'alerts',
  jsonColumns: ['notification_channels', 'dimension_filter', 'group_by'],
  filters: {
    ...equalityFilters('metric', 'severity', 'enabled'),
    channel_type: (q, v: string) => q.whereRaw('notification_channels @> ?::jsonb', [JSON.stringify([{ type: v }])]),
  },
  validate: (_trx, candidate) => {
    checkMetric(candidate);
    checkChannels(candidate.notification_channels, allowedWebhookHosts);
  },
});

const alertRepository: CrudRepository<Alert, AlertCreate, Partial<AlertCreate>> = {
  list: baseRepository.list,
  get: baseRepository.get,
  remove: baseRepository.remove,
  async create(trx, input) {
    const channels = assignChannelIds(input.notification_channels, []);
    const created = await baseRepository.create(trx, { ...input, notification_channels: channels });
    return withSecrets(created, await createSecrets(trx, created.id, channels));
  },
  async update(trx, current, patch) {
    if (!patch.notification_channels) return baseRepository.update(trx, current, patch);
    const channels = assignChannelIds(patch.notification_channels, current.notification_channels);
    const updated = await baseRepository.update(trx, current, { ...patch, notification_channels: channels });
    // A removed channel's secret goes with it; a kept one keeps its secret.
    await trx('alert_channel_secrets').where({ alert_id: current.id }).whereNotIn('channel_id', channels.filter((c) => c.type === 'webhook').map((c) => c.id)).delete();
    return withSecrets(updated, await createSecrets(trx, updated.id, channels));
  },
};

/** Seed 001 §15.2 alert configuration. */
export const alerts: ResourceDefinition<Alert, AlertCreate, Partial<AlertCreate>> = {
  name: 'alerts',
  singular: 'alert',
  tag: 'alerts',
  schemas: {
    entity: Alert,
    create: AlertCreate,
    patch: patchOf(AlertCreate),
    filters: { metric: Name, severity: StringEnum(ALERT_SEVERITIES), enabled: Type.Boolean(), channel_type: StringEnum(CHANNEL_TYPES) },
  },
  roles: { read: CATALOG_READERS, write: RISK_OWNERS },
  repository: alertRepository,
  auditView: withoutSecrets,
};
