import { Type, type Static } from '@sinclair/typebox';
import { equalityFilters, tableRepository, type Entity } from '../db/table-repository.js';
import { patchOf, type ResourceDefinition } from '../http/crud.js';
import { conflict } from '../http/problem.js';
import { EntityMeta, Text, withExample } from '../http/schemas.js';
import { CATALOG_READERS, RISK_OWNERS } from '../auth/roles.js';

export const Slug = Type.String({ pattern: '^[a-z][a-z0-9_-]{0,62}$', description: 'lower-case name: letters, digits, _ and -' });

const fields = {
  name: withExample(Slug, 'restricted'),
  rank: Type.Integer({ minimum: 0, maximum: 1000, description: 'Higher is more sensitive' }),
  description: Type.Optional(withExample(Text, 'Client identifiers and financial data whose disclosure harms clients.')),
  handling_requirements: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 500 }), { maxItems: 50 })),
};
export const ClassificationCreate = Type.Object(fields, { additionalProperties: false });
export type ClassificationCreate = Static<typeof ClassificationCreate>;
export const Classification = Type.Object(
  { ...EntityMeta, ...fields, description: withExample(Text, 'Client identifiers and financial data whose disclosure harms clients.'), handling_requirements: Type.Array(Type.String()) },
  { title: 'Classification' },
);
export type Classification = Static<typeof Classification> & Entity;

/** Ranks of all classifications by name, for "an asset is at least as sensitive as its columns". */
export async function classificationRanks(db: import('knex').Knex): Promise<Map<string, number>> {
  const rows: Array<{ name: string; rank: number }> = await db('classifications').select('name', 'rank');
  return new Map(rows.map((r) => [r.name, r.rank]));
}

export const classifications: ResourceDefinition<Classification, ClassificationCreate, Partial<ClassificationCreate>> = {
  name: 'classifications',
  singular: 'classification',
  tag: 'catalog',
  schemas: {
    entity: Classification,
    create: ClassificationCreate,
    patch: patchOf(ClassificationCreate),
    filters: { name: Slug },
  },
  roles: { read: CATALOG_READERS, write: RISK_OWNERS },
  repository: tableRepository({
    table: 'classifications',
    jsonColumns: ['handling_requirements'],
    filters: equalityFilters('name'),
    order: () => [
      { sql: 'rank', field: 'rank' },
      { sql: 'id', field: 'id' },
    ],
    // Re-ranking a level in use would silently make assets less sensitive than their columns.
    beforeUpdate: async (trx, current, patch) => {
      if (patch.rank === undefined || patch.rank === current.rank) return;
      const used = await trx('asset_columns').where({ classification: current.name }).first('asset_id');
      const usedByAsset = await trx('assets').where({ classification: current.name }).first('id');
      if (used || usedByAsset) throw conflict(`classification ${current.name} is in use; its rank cannot change`);
    },
  }),
};
