import { Type, type Static } from '@sinclair/typebox';
import { IsoDateTime, Name, Nullable, StringEnum, Text, Uuid } from '../http/schemas.js';
import { REMEDIATION_STATUSES, RESOURCE_STATUSES } from './store.js';

const State = Type.Record(Type.String(), Type.Unknown(), { description: 'The configuration the action reads and changes' });

export const PlanBody = Type.Object(
  {
    finding_id: Type.Optional(Uuid),
    rule_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Every open finding of the rule (narrowed by account, region, resource_ids)' })),
    account: Type.Optional(Type.String({ pattern: '^[0-9]{12}$' })),
    region: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
    resource_ids: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { minItems: 1, maxItems: 500 })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "Default: the rule's remediation; config_remediation applies to any rule" })),
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: "The action's parameters (GET /v1/remediation-actions)" })),
  },
  { additionalProperties: false, examples: [{ finding_id: '0190a8d2-7c1e-7000-8000-000000000042' }, { rule_id: 's3.bucket_versioning', account: '123456789012', region: 'us-east-1', resource_ids: ['wealth-scratch'] }] },
);
export type PlanBody = Static<typeof PlanBody>;

export const CommentBody = Type.Object({ comment: Type.Optional(Text) }, { additionalProperties: false });
export const EmptyBody = Type.Object({}, { additionalProperties: false });

const Summary = {
  id: Uuid,
  action: Type.String({ examples: ['s3_block_public_access'] }),
  risk: StringEnum(['low', 'high'] as const),
  params: Type.Record(Type.String(), Type.Unknown()),
  rule_id: Type.String(),
  controls: Type.Array(Type.String()),
  status: StringEnum(REMEDIATION_STATUSES),
  trigger: StringEnum(['api', 'auto'] as const),
  requester: Name,
  approval_required: Type.Boolean(),
  last_error: Nullable(Type.String()),
  version: Type.Integer(),
  created_at: IsoDateTime,
  updated_at: IsoDateTime,
};

export const RemediationSummary = Type.Object(Summary);

export const Remediation = Type.Object({
  ...Summary,
  approval: Type.Object({ required: Type.Boolean(), valid_until: Nullable(IsoDateTime) }),
  resources: Type.Array(
    Type.Object({
      id: Uuid,
      position: Type.Integer(),
      finding_id: Uuid,
      source_id: Uuid,
      resource_type: Type.String(),
      resource_id: Type.String(),
      account: Type.String(),
      region: Type.String(),
      before: State,
      after: State,
      status: StringEnum(RESOURCE_STATUSES),
      error: Nullable(Type.String()),
      aws_request_ids: Type.Array(Type.String()),
      updated_at: IsoDateTime,
    }),
  ),
  approvals: Type.Array(Type.Object({ id: Uuid, approver: Name, role: Type.String(), comment: Nullable(Type.String()), approved_at: IsoDateTime, expires_at: IsoDateTime })),
  steps: Type.Array(
    Type.Object({
      id: Uuid,
      resource_row_id: Uuid,
      step: StringEnum(['apply', 'verify', 'finalize', 'rollback'] as const),
      idempotency_key: Type.String(),
      status: StringEnum(['started', 'succeeded', 'failed'] as const),
      attempts: Type.Integer(),
      request_ids: Type.Array(Type.String()),
      confirmed_on_resume: Type.Boolean(),
      error: Nullable(Type.String()),
      started_at: IsoDateTime,
      finished_at: Nullable(IsoDateTime),
    }),
  ),
  skipped: Type.Optional(Type.Array(Type.Object({ finding_id: Uuid, resource_id: Type.String(), reason: Type.String() }))),
});

export const RemediationFilters = Type.Object({
  status: Type.Optional(StringEnum(REMEDIATION_STATUSES)),
  rule_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  finding_id: Type.Optional(Uuid),
});

export const ActionDescription = Type.Object({
  name: Type.String({ examples: ['s3_block_public_access'] }),
  description: Type.String({ examples: ['Turn on all four settings of the bucket public access block'] }),
  resource_types: Type.Array(Type.String()),
  risk: StringEnum(['low', 'high'] as const),
  permissions: Type.Array(Type.String()),
  params: Type.Unknown({ description: 'JSON Schema of the parameters' }),
  rollback: Type.Boolean(),
});
