import { Type } from '@sinclair/typebox';
import { IsoDateTime, Nullable, RoleSchema, StringEnum } from '../http/schemas.js';
import { CHANGE_STATUSES } from './store.js';

export const PendingChange = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    kind: Type.String({ description: 'what the change does, e.g. assets.update_column, policy-bundles.activate', examples: ['assets.update_column'] }),
    entity: Type.String(),
    entity_id: Type.String(),
    base_version: Nullable(Type.Integer({ description: 'the version of the entity the change was made from; approval applies only to that version' })),
    payload: Type.Unknown({ description: 'the change as requested' }),
    summary: Type.String(),
    reasons: Type.Array(Type.String(), { description: 'why the change lowers protection' }),
    status: StringEnum(CHANGE_STATUSES),
    approvers: Type.Object({
      roles: Type.Array(RoleSchema, { description: 'people with one of these roles may approve' }),
      subjects: Type.Array(Type.String(), { description: 'and these identities (e.g. the owner and steward of the domain)' }),
      never: Type.String({ description: 'the proposer: never approves their own change' }),
    }),
    can_approve: Type.Boolean({ description: 'whether the caller may approve it now' }),
    proposed_by: Type.String(),
    proposer_subject: Type.String(),
    proposer_role: Type.String(),
    proposed_at: IsoDateTime,
    expires_at: IsoDateTime,
    break_glass_reason: Nullable(Type.String({ description: 'set when an admin applied it alone (break-glass)' })),
    decided_by: Nullable(Type.String()),
    decider_subject: Nullable(Type.String()),
    decided_at: Nullable(IsoDateTime),
    decision_note: Nullable(Type.String()),
    version: Type.Integer(),
    created_at: IsoDateTime,
    updated_at: IsoDateTime,
  },
  { title: 'PendingChange' },
);

export const ChangeFilters = {
  status: Type.Optional(StringEnum(CHANGE_STATUSES)),
  kind: Type.Optional(Type.String({ maxLength: 100 })),
  entity: Type.Optional(Type.String({ maxLength: 100 })),
  entity_id: Type.Optional(Type.String({ maxLength: 200 })),
  proposer_subject: Type.Optional(Type.String({ maxLength: 200 })),
  can_approve: Type.Optional(Type.Boolean({ description: 'true: only those the caller may approve now' })),
  break_glass: Type.Optional(Type.Boolean({ description: 'true: only break-glass changes' })),
};

export const NoteBody = Type.Object({ note: Type.Optional(Type.String({ minLength: 1, maxLength: 5000 })) }, { additionalProperties: false });
export const RequiredNoteBody = Type.Object({ note: Type.String({ minLength: 1, maxLength: 5000 }) }, { additionalProperties: false });
