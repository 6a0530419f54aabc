import { Type, type Static } from '@sinclair/typebox';
import { STORES } from '../../catalog/assets.js';
import { PrincipalArn } from '../principals.js';
import { EntityMeta, IsoDateTime, StringEnum, Uuid, Nullable } from '../../http/schemas.js';
import { GRANT_STATUSES, REQUEST_STATUSES } from './store.js';


export const SCOPES = ['table', 'domain', 'lf_tag'] as const;
export const PERMISSIONS = ['SELECT', 'DESCRIBE', 'INSERT', 'DELETE'] as const;

const Identifier = Type.String({ minLength: 1, maxLength: 255 });
const Comment = Type.String({ minLength: 1, maxLength: 2000 });
const SourceName = Type.String({ minLength: 1, maxLength: 63, description: 'a source (POST /v1/sources) with the lakeformation service; default: the only enabled one' });

export const LfTagTerm = Type.Object(
  {
    tag_key: Type.String({ minLength: 1, maxLength: 128 }),
    tag_values: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: 50, uniqueItems: true }),
  },
  { additionalProperties: false },
);

export const RequestCreate = Type.Object(
  {
    principal: PrincipalArn,
    scope: StringEnum(SCOPES, { description: 'table: a catalogued table (optionally some columns); domain: all data of a domain (Custos decisions only); lf_tag: tables matching an LF-tag expression' }),
    store: Type.Optional(StringEnum(STORES, { description: 'scope table: the store of the catalogued table, when its name is in several' })),
    database: Type.Optional(Identifier),
    table: Type.Optional(Identifier),
    columns: Type.Optional(Type.Array(Identifier, { maxItems: 500, uniqueItems: true, description: 'scope table: only these columns (SELECT only); omitted or empty: the whole table' })),
    domain: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    lf_tag_expression: Type.Optional(Type.Array(LfTagTerm, { minItems: 1, maxItems: 50, description: 'scope lf_tag: AND across keys, OR across values' })),
    permissions: Type.Array(StringEnum(PERMISSIONS), { minItems: 1, uniqueItems: true }),
    purpose: Type.String({ minLength: 1, maxLength: 200 }),
    duration_days: Type.Integer({ minimum: 1, maximum: 365 }),
    source: Type.Optional(SourceName),
  },
  {
    additionalProperties: false,
    examples: [
      { principal: 'arn:aws:iam::123456789012:role/kyc-review', scope: 'table', store: 'aurora', database: 'wealth', table: 'clients', columns: ['ssn'], permissions: ['SELECT'], purpose: 'kyc-review', duration_days: 7 },
      { principal: 'arn:aws:iam::123456789012:role/kyc-review', scope: 'domain', domain: 'Client', permissions: ['SELECT'], purpose: 'kyc-review', duration_days: 30 },
    ],
  },
);
export type RequestCreate = Static<typeof RequestCreate>;

/** What is asked for: the same fields on a request and on the grant an approval makes of it. */
const accessScope = {
  principal: Type.String(),
  scope: StringEnum(SCOPES),
  store: Nullable(Type.String()),
  database: Nullable(Type.String()),
  table: Nullable(Type.String()),
  columns: Type.Array(Type.String()),
  domain: Nullable(Type.String()),
  lf_tag_expression: Nullable(Type.Array(Type.Object({ tag_key: Type.String(), tag_values: Type.Array(Type.String()) }))),
  permissions: Type.Array(Type.String()),
  purpose: Type.String(),
};

export const AccessRequest = Type.Object(
  {
    ...EntityMeta,
    requester: Type.String(),
    ...accessScope,
    duration_days: Type.Integer(),
    source: Nullable(Type.String({ description: 'the source named in the request; null: the default at approval' })),
    status: StringEnum(REQUEST_STATUSES),
    decided_by: Nullable(Type.String()),
    decided_at: Nullable(IsoDateTime),
    decision_comment: Nullable(Type.String()),
    grant_id: Nullable(Type.String({ format: 'uuid', description: 'the grant the approval created' })),
  },
  { title: 'AccessRequest' },
);

const LakeFormationRecord = Type.Object(
  {
    source: Nullable(Type.Object({ id: Type.String(), name: Type.String(), account_id: Type.String(), region: Type.String(), role_arn: Nullable(Type.String()) })),
    catalog_id: Nullable(Type.String()),
    resource: Type.Unknown({ description: 'the exact Resource sent to GrantPermissions/RevokePermissions; null: no Lake Formation resource' }),
    permissions: Type.Array(Type.String()),
    note: Type.Optional(Type.String()),
    applied_at: Type.Optional(IsoDateTime),
    grant_request_id: Type.Optional(Nullable(Type.String())),
    already_present: Type.Optional(Type.Boolean()),
    granted_permissions: Type.Optional(Type.Array(Type.String())),
    revocation: Type.Optional(
      Type.Object({ reason: StringEnum(['revoked', 'withdrawn', 'expired']), requested_by: Type.String(), requested_at: IsoDateTime, comment: Nullable(Type.String()) }),
    ),
    revoke_completed_at: Type.Optional(IsoDateTime),
    revoke_request_id: Type.Optional(Nullable(Type.String())),
    revoked_permissions: Type.Optional(Type.Array(Type.String())),
    retained_permissions: Type.Optional(Type.Array(Type.String(), { description: 'left in place: another live grant needs them' })),
    already_absent: Type.Optional(Type.Boolean()),
  },
  { description: 'what was applied to, and revoked from, Lake Formation' },
);

export const AccessGrant = Type.Object(
  {
    ...EntityMeta,
    request_id: Uuid,
    ...accessScope,
    starts_at: IsoDateTime,
    expires_at: IsoDateTime,
    status: StringEnum(GRANT_STATUSES),
    lake_formation: Nullable(LakeFormationRecord),
    aws_request_ids: Type.Array(Type.String(), { description: 'request ids of the GrantPermissions/RevokePermissions calls made' }),
    last_error: Nullable(Type.String()),
    attempts: Type.Integer(),
    revoked_at: Nullable(IsoDateTime),
    revoked_by: Nullable(Type.String()),
  },
  { title: 'AccessGrant' },
);

const NormalisedResource = Type.Object({
  kind: Type.String({ examples: ['table_with_columns'] }),
  database: Type.Optional(Type.String()),
  table: Type.Optional(Type.String()),
  columns: Type.Optional(Type.Array(Type.String())),
  excluded_columns: Type.Optional(Type.Array(Type.String())),
  resource_type: Type.Optional(Nullable(Type.String())),
  expression: Type.Optional(Type.Array(Type.Object({ key: Type.String({ examples: ['classification'] }), values: Type.Array(Type.String()) }))),
  expression_name: Type.Optional(Type.String()),
  location: Type.Optional(Type.String()),
});

export const Reconciliation = Type.Object(
  {
    source: Type.String(),
    checked_at: IsoDateTime,
    unapproved: Type.Array(
      Type.Object({ principal: Type.String(), resource: NormalisedResource, permissions: Type.Array(Type.String()), permissions_with_grant_option: Type.Array(Type.String()) }),
      { description: 'Lake Formation permissions no active grant accounts for (data lake administrators excepted)' },
    ),
    missing: Type.Array(Type.Object({ grant_id: Uuid, principal: Type.String(), resource: NormalisedResource, permissions: Type.Array(Type.String()) }), {
      description: 'active grants whose permissions Lake Formation does not hold',
    }),
    counts: Type.Object({ permissions: Type.Integer(), active_grants: Type.Integer(), ignored_admin_permissions: Type.Integer(), in_flight_grants: Type.Integer() }),
  },
  { title: 'Reconciliation' },
);

export const CommentBody = Type.Object({ comment: Type.Optional(Comment) }, { additionalProperties: false });
export const RequiredCommentBody = Type.Object({ comment: Comment }, { additionalProperties: false });
export const EmptyBody = Type.Object({}, { additionalProperties: false });
export const ReconcileBody = Type.Object({ source: Type.Optional(SourceName) }, { additionalProperties: false });

export const RequestFilters = Type.Object({
  status: Type.Optional(StringEnum(REQUEST_STATUSES)),
  principal: Type.Optional(Type.String({ maxLength: 2048 })),
});
export const GrantFilters = Type.Object({
  status: Type.Optional(StringEnum(GRANT_STATUSES)),
  principal: Type.Optional(Type.String({ maxLength: 2048 })),
  database: Type.Optional(Identifier),
  table: Type.Optional(Identifier),
});
