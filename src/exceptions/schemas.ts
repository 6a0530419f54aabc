import { Type, type Static } from '@sinclair/typebox';
import { EntityMeta, Instant, IsoDateTime, Nullable, StringEnum, Uuid } from '../http/schemas.js';

export const EXCEPTION_STATUSES = ['pending', 'approved', 'rejected', 'expired', 'revoked'] as const;
export type ExceptionStatus = (typeof EXCEPTION_STATUSES)[number];

const Note = Type.String({ minLength: 1, maxLength: 2000 });
const Account = Type.String({ pattern: '^[0-9]{12}$', description: 'AWS account id; omitted: any account' });
const Region = Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$', description: 'AWS region; omitted: any region' });

export const ExceptionCreate = Type.Object(
  {
    finding_id: Type.Optional(Uuid),
    rule_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'a rule of the active policy bundle (instead of finding_id)' })),
    resource_pattern: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2048, description: 'with rule_id: glob on the resource id (`*` any run of characters, `?` one character); default `*`' }),
    ),
    account: Type.Optional(Account),
    region: Type.Optional(Region),
    justification: Type.String({ minLength: 10, maxLength: 5000, description: 'why the risk is accepted' }),
    compensating_control: Type.String({ minLength: 1, maxLength: 5000, description: 'what mitigates the risk meanwhile' }),
    expires_at: Instant('in the future, at most one year ahead (a date-time or a date)'),
  },
  {
    additionalProperties: false,
    examples: [
      {
        finding_id: '0190a8d2-7c1e-7000-8000-000000000042',
        justification: 'Public marketing site, no client data; reviewed by security.',
        compensating_control: 'CloudFront in front; the bucket holds only static assets',
        expires_at: '2027-03-31',
      },
      {
        rule_id: 's3.bucket_versioning',
        resource_pattern: 'wealth-scratch*',
        account: '123456789012',
        justification: 'Scratch buckets hold re-creatable intermediate files only.',
        compensating_control: 'Lifecycle rule deletes objects after 7 days',
        expires_at: '2027-06-30',
      },
    ],
  },
);
export type ExceptionCreate = Static<typeof ExceptionCreate>;

export const ExceptionView = Type.Object(
  {
    ...EntityMeta,
    status: StringEnum(EXCEPTION_STATUSES),
    finding_id: Nullable(Uuid),
    rule_id: Type.String(),
    resource_pattern: Type.String(),
    account: Nullable(Type.String()),
    region: Nullable(Type.String()),
    justification: Type.String(),
    compensating_control: Type.String(),
    expires_at: IsoDateTime,
    requested_by: Type.String(),
    requested_at: IsoDateTime,
    decided_by: Nullable(Type.String({ description: 'who approved or rejected it; never the requester' })),
    decided_at: Nullable(IsoDateTime),
    decision_note: Nullable(Type.String()),
    ended_by: Nullable(Type.String({ description: 'who revoked it, or system:expiry' })),
    ended_at: Nullable(IsoDateTime),
    end_note: Nullable(Type.String()),
  },
  { title: 'Exception' },
);

export const ExceptionFilters = {
  status: Type.Optional(StringEnum(EXCEPTION_STATUSES)),
  rule_id: Type.Optional(Type.String({ maxLength: 200 })),
  finding_id: Type.Optional(Uuid),
  expiring_before: Type.Optional(Instant('expires_at before this instant (a date-time or a date); soonest first')),
};

export const OptionalNoteBody = Type.Object({ note: Type.Optional(Note) }, { additionalProperties: false });
export const RequiredNoteBody = Type.Object({ note: Note }, { additionalProperties: false });
