import { Type, type Static } from '@sinclair/typebox';
import { CATALOG_READERS, STEWARDS } from '../auth/roles.js';
import { equalityFilters, tableRepository, type Entity } from '../db/table-repository.js';
import type { Knex } from 'knex';
import { patchOf, type Guarded, type ResourceDefinition } from '../http/crud.js';
import { EntityMeta, StringEnum } from '../http/schemas.js';

export const PRINCIPAL_KINDS = ['pipeline', 'user', 'service'] as const;
export const PrincipalArn = Type.String({ pattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$', maxLength: 2048, description: 'IAM role or user ARN' });

const fields = {
  arn: PrincipalArn,
  name: Type.String({ minLength: 1, maxLength: 200, examples: ['analytics-etl'] }),
  kind: StringEnum(PRINCIPAL_KINDS),
  team: Type.Optional(Type.String({ maxLength: 200 })),
  domain: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()], { description: 'the data domain it belongs to: reads internal data of that domain' })),
};
export const PrincipalCreate = Type.Object(fields, { additionalProperties: false });
export type PrincipalCreate = Static<typeof PrincipalCreate>;
export const Principal = Type.Object({ ...EntityMeta, ...fields, team: Type.String(), domain: Type.Union([Type.String(), Type.Null()]) });
export type Principal = Static<typeof Principal> & Entity;

async function joining(trx: Knex, arn: string, from: string | null, to: string | null): Promise<Guarded> {
  if (to === null || to === from) return { reasons: [], approvers: { roles: ['admin'], subjects: [] } };
  const domain: { owner: string; steward: string } | undefined = await trx('domains').where({ name: to }).first('owner', 'steward');
  return {
    reasons: [`principal ${arn} joins domain ${to} and so reads its internal data`],
    approvers: { roles: ['admin'], subjects: domain ? [...new Set([domain.owner, domain.steward])] : [] },
  };
}

/** The IAM roles and users that use data. Decisions for an unregistered principal deny. */
export const principals: ResourceDefinition<Principal, PrincipalCreate, Partial<PrincipalCreate>> = {
  name: 'principals',
  singular: 'principal',
  tag: 'access',
  schemas: { entity: Principal, create: PrincipalCreate, patch: patchOf(PrincipalCreate), filters: { arn: PrincipalArn, kind: StringEnum(PRINCIPAL_KINDS), team: Type.String({ maxLength: 200 }), domain: Type.String({ maxLength: 100 }) } },
  roles: { read: CATALOG_READERS, write: STEWARDS },
  // A principal in a domain reads that domain's internal data: joining one is an access grant,
  // decided like one by the domain's owner or steward (or an admin).
  guard: {
    create: async (trx, input) => joining(trx, input.arn, null, input.domain ?? null),
    update: async (trx, current, patch) => joining(trx, current.arn, current.domain, patch.domain === undefined ? current.domain : patch.domain),
  },
  repository: tableRepository({
    table: 'principals',
    filters: equalityFilters('arn', 'kind', 'team', 'domain'),
    derive: (candidate) => ({ team: candidate.team ?? '', domain: candidate.domain ?? null }),
  }),
};
