import { Type, type Static } from '@sinclair/typebox';
import { STEWARDS, CATALOG_READERS } from '../auth/roles.js';
import { equalityFilters, tableRepository, type Entity } from '../db/table-repository.js';
import { patchOf, type ResourceDefinition } from '../http/crud.js';
import { EntityMeta, Name, StringEnum, Text, withExample } from '../http/schemas.js';

export const REVIEW_FREQUENCIES = ['monthly', 'quarterly', 'semi_annual', 'annual'] as const;

const fields = {
  name: Type.String({ minLength: 1, maxLength: 100, examples: ['Client'] }),
  description: Type.Optional(withExample(Text, 'Client identity, contact details, relationships and preferences.')),
  owner: Type.String({ minLength: 1, maxLength: 200, description: "the owner's subject (identity: API key subject or SSO subject); owner and steward decide access requests to the domain" }),
  steward: Type.String({ minLength: 1, maxLength: 200, description: "the steward's subject (identity: API key subject or SSO subject)" }),
  review_frequency: StringEnum(REVIEW_FREQUENCIES),
};
export const DomainCreate = Type.Object(fields, { additionalProperties: false });
export type DomainCreate = Static<typeof DomainCreate>;
export const Domain = Type.Object({ ...EntityMeta, ...fields, description: withExample(Text, 'Client identity, contact details, relationships and preferences.') });
export type Domain = Static<typeof Domain> & Entity;

/** Seed 001 §10.2 data_ownership: who owns and who stewards each data domain. */
export const domains: ResourceDefinition<Domain, DomainCreate, Partial<DomainCreate>> = {
  name: 'domains',
  singular: 'domain',
  tag: 'catalog',
  schemas: {
    entity: Domain,
    create: DomainCreate,
    patch: patchOf(DomainCreate),
    filters: { name: Name, owner: Name, steward: Name, review_frequency: StringEnum(REVIEW_FREQUENCIES) },
  },
  roles: { read: CATALOG_READERS, write: STEWARDS },
  // The owner and steward decide access to the domain's data: who they are is changed by two people.
  guard: {
    update: async (_trx, current, patch) => ({
      reasons: (['owner', 'steward'] as const)
        .filter((field) => patch[field] !== undefined && patch[field] !== current[field])
        .map((field) => `the ${field} of domain ${current.name} changes from ${current[field]} to ${patch[field]}: ${field}s approve access to its data`),
      approvers: { roles: ['admin', 'compliance_officer'], subjects: [...new Set([current.owner, current.steward])] },
    }),
  },
  repository: tableRepository({
    table: 'domains',
    filters: equalityFilters('name', 'owner', 'steward', 'review_frequency'),
  }),
};
