import { Type, type Static } from '@sinclair/typebox';
import { CATALOG_READERS, RISK_OWNERS } from '../auth/roles.js';
import { equalityFilters, tableRepository, type Entity } from '../db/table-repository.js';
import { patchOf, type ResourceDefinition } from '../http/crud.js';
import { invalidField } from '../http/problem.js';
import { EntityMeta, Name, StringEnum, Text } from '../http/schemas.js';

export const COMPARISONS = ['gt', 'gte', 'lt', 'lte', 'eq'] as const;
export const ALERT_SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export const CHANNEL_TYPES = ['webhook', 'sns', 'email'] as const;

const SNS_TOPIC_ARN = /^arn:aws(-[a-z]+)*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

const Channel = Type.Object(
  {
    type: StringEnum(CHANNEL_TYPES),
    url: Type.Optional(Type.String({ format: 'uri', maxLength: 2048, description: 'webhook: https URL' })),
    topic_arn: Type.Optional(Type.String({ maxLength: 1024, description: 'sns: topic ARN' })),
    address: Type.Optional(Type.String({ format: 'email', maxLength: 320, description: 'email: recipient' })),
  },
  { additionalProperties: false },
);
type Channel = Static<typeof Channel>;

const fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Text),
  metric: Name,
  comparison: StringEnum(COMPARISONS),
  threshold: Type.Number(),
  severity: StringEnum(ALERT_SEVERITIES),
  notification_channels: Type.Array(Channel, { minItems: 1, maxItems: 20 }),
  enabled: Type.Optional(Type.Boolean()),
};
export const AlertCreate = Type.Object(fields, { additionalProperties: false });
export type AlertCreate = Static<typeof AlertCreate>;
export const Alert = Type.Object({ ...EntityMeta, ...fields, description: Text, enabled: Type.Boolean() });
export type Alert = Static<typeof Alert> & Entity;

const REQUIRED_FIELD: Record<Channel['type'], 'url' | 'topic_arn' | 'address'> = { webhook: 'url', sns: 'topic_arn', email: 'address' };

/** Each channel carries exactly the one target its type needs, and a valid one. */
function checkChannels(channels: Channel[]) {
  channels.forEach((channel, i) => {
    const needed = REQUIRED_FIELD[channel.type];
    for (const field of Object.values(REQUIRED_FIELD)) {
      const path = `notification_channels[${i}].${field}`;
      if (field === needed && channel[field] === undefined) throw invalidField(path, `is required for a ${channel.type} channel`);
      if (field !== needed && channel[field] !== undefined) throw invalidField(path, `does not belong to a ${channel.type} channel`);
    }
    if (channel.type === 'webhook' && !channel.url!.startsWith('https://')) {
      throw invalidField(`notification_channels[${i}].url`, 'must be an https URL');
    }
    if (channel.type === 'sns' && !SNS_TOPIC_ARN.test(channel.topic_arn!)) {
      throw invalidField(`notification_channels[${i}].topic_arn`, 'must be an SNS topic ARN: arn:aws:sns:<region>:<account>:<topic>');
    }
  });
}

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
  repository: tableRepository({
    table: 'alerts',
    jsonColumns: ['notification_channels'],
    filters: {
      ...equalityFilters('metric', 'severity', 'enabled'),
      channel_type: (q, v: string) => q.whereRaw('notification_channels @> ?::jsonb', [JSON.stringify([{ type: v }])]),
    },
    validate: (_trx, candidate) => checkChannels(candidate.notification_channels),
  }),
};
