import { Type, type Static } from '@sinclair/typebox';
import { CATALOG_READERS, STEWARDS } from '../auth/roles.js';
import { equalityFilters, tableRepository, type Entity } from '../db/table-repository.js';
import { patchOf, type ResourceDefinition } from '../http/crud.js';
import { EntityMeta, StringEnum } from '../http/schemas.js';

export const PRINCIPAL_KINDS = ['pipeline', 'user', 'service'] as const;
export const PrincipalArn = Type.String({ pattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$', maxLength: 2048, description: 'IAM role or user ARN' });

const fields = {
  arn: PrincipalArn,
  name: Type.String({ minLength: 1, maxLength: 200 }),
  kind: StringEnum(PRINCIPAL_KINDS),
  team: Type.Optional(Type.String({ maxLength: 200 })),
  domain: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()], { description: 'the data domain it belongs to: reads internal data of that domain' })),
};
export const PrincipalCreate = Type.Object(fields, { additionalProperties: false });
export type PrincipalCreate = Static<typeof PrincipalCreate>;
export const Principal = Type.Object({ ...EntityMeta, ...fields, team: Type.String(), domain: Type.Union([Type.String(), Type.Null()]) });
export type Principal = Static<typeof Principal> & Entity;

/** The IAM roles and users that use data. Decisions for an unregistered principal deny. */
export const principals: ResourceDefinition<Principal, PrincipalCreate, Partial<PrincipalCreate>> = {
  name: 'principals',
  singular: 'principal',
  tag: 'access',
  schemas: { entity: Principal, create: PrincipalCreate, patch: patchOf(PrincipalCreate), filters: { arn: PrincipalArn, kind: StringEnum(PRINCIPAL_KINDS), team: Type.String({ maxLength: 200 }), domain: Type.String({ maxLength: 100 }) } },
  roles: { read: CATALOG_READERS, write: STEWARDS },
  repository: tableRepository({
    table: 'principals',
    filters: equalityFilters('arn', 'kind', 'team', 'domain'),
    derive: (candidate) => ({ team: candidate.team ?? '', domain: candidate.domain ?? null }),
  }),
};
