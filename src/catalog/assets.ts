import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { CATALOG_READERS, STEWARDS } from '../auth/roles.js';
import { paginate } from '../db/pagination.js';
import type { CrudRepository, Entity } from '../db/table-repository.js';
import type { AuditContext } from '../audit/repository.js';
import { recordAudit } from '../audit/repository.js';
import { guardedChange, PendingChange, sendOutcome, stale, type ChangeTarget } from '../changes/index.js';
import { checkIfMatch, etagOf, loadForUpdate, patchOf, type ResourceDefinition } from '../http/crud.js';
import { HttpProblem, invalidField, problemResponses } from '../http/problem.js';
import { EntityMeta, Name, StringEnum, Text, withExample, Uuid, Nullable } from '../http/schemas.js';
import { classificationRanks, Slug } from './classifications.js';
import { assetApprovers, assetLowerings, columnLowerings, protectionContext } from './protection.js';

export const STORES = ['aurora', 'dynamodb', 's3', 'snowflake', 'glue'] as const;
export const PII_TYPES = ['ssn', 'email', 'phone', 'credit_card', 'tax_id', 'account_number', 'name', 'address', 'dob'] as const;

const Identifier = Type.String({ minLength: 1, maxLength: 255 });

const columnFields = {
  data_type: Type.String({ minLength: 1, maxLength: 64 }),
  description: Type.Optional(withExample(Text, 'Social security number')),
  classification: Slug,
  pii_type: Type.Optional(Nullable(StringEnum(PII_TYPES))),
  masking_rule: Type.Optional(Nullable(Slug)),
};
export const ColumnInput = Type.Object({ name: withExample(Identifier, 'ssn'), ...columnFields }, { additionalProperties: false });
export type ColumnInput = Static<typeof ColumnInput>;
export const ColumnPatch = Type.Partial(Type.Object(columnFields), { additionalProperties: false, minProperties: 1 });
export type ColumnPatch = Static<typeof ColumnPatch>;
export const Column = Type.Object({
  name: Type.String({ examples: ['ssn'] }),
  data_type: Type.String(),
  description: Type.String({ examples: ['Social security number'] }),
  classification: Type.String(),
  pii_type: Nullable(StringEnum(PII_TYPES)),
  masking_rule: Nullable(Type.String()),
});
export type Column = Static<typeof Column>;

const assetFields = {
  store: StringEnum(STORES),
  database: Identifier,
  table: Identifier,
  description: Type.Optional(withExample(Text, 'Core identity record of each wealth-management client.')),
  domain: Type.String({ minLength: 1, maxLength: 100 }),
  classification: Type.Optional(Slug),
  retention_policy: Type.Optional(Nullable(Slug)),
  location: Type.Optional(Nullable(Type.String({ maxLength: 1024, description: 'Where the data lives, e.g. s3://bucket/prefix/ or an ARN' }))),
  tags: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.String({ maxLength: 256 }))),
  columns: Type.Optional(Type.Array(ColumnInput, { maxItems: 2000 })),
};
export const AssetCreate = Type.Object(assetFields, {
  additionalProperties: false,
  description: 'classification defaults to the highest of the columns; a lower one is refused.',
});
export type AssetCreate = Static<typeof AssetCreate>;
export const Asset = Type.Object(
  {
    ...EntityMeta,
    store: StringEnum(STORES),
    database: Type.String(),
    table: Type.String(),
    description: Type.String({ examples: ['Core identity record of each wealth-management client.'] }),
    domain: Type.String(),
    classification: Type.String(),
    retention_policy: Nullable(Type.String()),
    location: Nullable(Type.String()),
    tags: Type.Record(Type.String(), Type.String()),
    columns: Type.Array(Column),
  },
  { title: 'Asset' },
);
export type Asset = Static<typeof Asset> & Entity;

interface AssetRow extends Record<string, unknown> {
  id: string;
  table_name: string;
}

function toAsset(row: AssetRow, columns: Column[]): Asset {
  const { table_name, ...rest } = row;
  return { ...(rest as unknown as Omit<Asset, 'table' | 'columns'>), table: table_name, columns };
}

async function columnsOf(db: Knex, assetIds: string[]): Promise<Map<string, Column[]>> {
  const byAsset = new Map<string, Column[]>(assetIds.map((id) => [id, []]));
  if (assetIds.length === 0) return byAsset;
  const rows = await db('asset_columns').whereIn('asset_id', assetIds).orderBy(['asset_id', 'position']);
  for (const { asset_id, position, ...column } of rows) byAsset.get(asset_id)?.push(column as Column);
  return byAsset;
}

/**
 * The classification an asset ends up with: the declared one, which may not be lower than its most
 * sensitive column, or else the higher of the current one and the columns' highest.
 */
async function resolveClassification(trx: Knex.Transaction, declared: string | undefined, current: string | undefined, columns: ColumnInput[]) {
  const ranks = await classificationRanks(trx);
  const rankOf = (name: string, field: string) => {
    const rank = ranks.get(name);
    if (rank === undefined) throw invalidField(field, `unknown classification "${name}"; known: ${[...ranks.keys()].join(', ')}`);
    return rank;
  };
  let highest: { name: string; rank: number; column: string } | undefined;
  columns.forEach((column, i) => {
    const rank = rankOf(column.classification, `columns[${i}].classification`);
    if (!highest || rank > highest.rank) highest = { name: column.classification, rank, column: column.name };
  });
  if (declared !== undefined) {
    const rank = rankOf(declared, 'classification');
    if (highest && rank < highest.rank) {
      throw invalidField('classification', `must be at least ${highest.name}, the classification of column ${highest.column}`);
    }
    return declared;
  }
  const floor = current === undefined ? undefined : { name: current, rank: rankOf(current, 'classification') };
  if (floor && (!highest || floor.rank >= highest.rank)) return floor.name;
  if (highest) return highest.name;
  throw invalidField('classification', 'is required when the asset has no columns');
}

async function checkColumns(trx: Knex.Transaction, columns: ColumnInput[]) {
  const seen = new Set<string>();
  const rules = new Set((await trx('masking_rules').select('name')).map((r: { name: string }) => r.name));
  columns.forEach((column, i) => {
    if (seen.has(column.name)) throw invalidField(`columns[${i}].name`, `duplicates column ${column.name}`);
    seen.add(column.name);
    if (column.masking_rule && !rules.has(column.masking_rule)) {
      throw invalidField(`columns[${i}].masking_rule`, `unknown masking rule "${column.masking_rule}"; known: ${[...rules].join(', ')}`);
    }
  });
}

/** Replaces the asset's columns, keeping rows that stay so data quality rules on them keep their reference. */
async function writeColumns(trx: Knex.Transaction, assetId: string, columns: ColumnInput[]) {
  await trx('asset_columns')
    .where({ asset_id: assetId })
    .whereNotIn('name', columns.map((c) => c.name))
    .delete();
  if (columns.length === 0) return;
  const rows = columns.map((c, position) => ({
    asset_id: assetId,
    name: c.name,
    position,
    data_type: c.data_type,
    description: c.description ?? '',
    classification: c.classification,
    pii_type: c.pii_type ?? null,
    masking_rule: c.masking_rule ?? null,
  }));
  await trx('asset_columns').insert(rows).onConflict(['asset_id', 'name']).merge();
}

function assetRow(input: Omit<AssetCreate, 'columns' | 'classification'>, classification: string) {
  return {
    store: input.store,
    database: input.database,
    table_name: input.table,
    description: input.description ?? '',
    domain: input.domain,
    classification,
    retention_policy: input.retention_policy ?? null,
    location: input.location ?? null,
    tags: JSON.stringify(input.tags ?? {}),
  };
}

async function getAsset(db: Knex, id: string, forUpdate = false): Promise<Asset | undefined> {
  const query = db('assets').where({ id }).first();
  const row: AssetRow | undefined = await (forUpdate ? query.forUpdate() : query);
  if (!row) return undefined;
  return toAsset(row, (await columnsOf(db, [id])).get(id)!);
}

const assetRepository: CrudRepository<Asset, AssetCreate, Partial<AssetCreate>> = {
  async list(db, query) {
    const qb = db('assets').select('*');
    for (const field of ['store', 'database', 'domain', 'classification', 'retention_policy'] as const) {
      if (query[field] !== undefined) qb.where(field, query[field] as string);
    }
    if (query.table !== undefined) qb.where('table_name', query.table as string);
    if (query.pii_type !== undefined) {
      qb.whereExists(db('asset_columns').whereRaw('asset_columns.asset_id = assets.id').where('pii_type', query.pii_type as string));
    }
    if (query.has_pii !== undefined) {
      const sub = db('asset_columns').whereRaw('asset_columns.asset_id = assets.id').whereNotNull('pii_type');
      if (query.has_pii) qb.whereExists(sub);
      else qb.whereNotExists(sub);
    }
    const page = await paginate<AssetRow>(qb, query);
    const columns = await columnsOf(db, page.items.map((r) => r.id));
    return { items: page.items.map((row) => toAsset(row, columns.get(row.id)!)), next_cursor: page.next_cursor };
  },
  get: getAsset,
  async create(trx, input) {
    const columns = input.columns ?? [];
    await checkColumns(trx, columns);
    const classification = await resolveClassification(trx, input.classification, undefined, columns);
    const id = uuidv7();
    await trx('assets').insert({ id, ...assetRow(input, classification) });
    await writeColumns(trx, id, columns);
    return (await getAsset(trx, id))!;
  },
  async update(trx, current, patch) {
    const columns: ColumnInput[] = patch.columns ?? current.columns.map((c) => ({ ...c }));
    await checkColumns(trx, columns);
    const classification = await resolveClassification(trx, patch.classification, current.classification, columns);
    const merged = { ...current, ...patch };
    await trx('assets')
      .update({ ...assetRow(merged, classification), version: current.version + 1, updated_at: trx.fn.now() })
      .where({ id: current.id });
    if (patch.columns) await writeColumns(trx, current.id, columns);
    return (await getAsset(trx, current.id))!;
  },
  async remove(trx, current) {
    await trx('assets').where({ id: current.id }).delete();
  },
};

/** Data assets (seed 001 §4) and their columns: classification, PII type, masking, retention. */
export const assets: ResourceDefinition<Asset, AssetCreate, Partial<AssetCreate>> = {
  name: 'assets',
  singular: 'asset',
  tag: 'catalog',
  schemas: {
    entity: Asset,
    create: AssetCreate,
    patch: patchOf(AssetCreate),
    filters: {
      store: StringEnum(STORES),
      database: Identifier,
      table: Identifier,
      domain: Name,
      classification: Slug,
      retention_policy: Slug,
      pii_type: StringEnum(PII_TYPES),
      has_pii: Type.Boolean(),
    },
  },
  roles: { read: CATALOG_READERS, write: STEWARDS },
  guard: {
    update: async (trx, current, patch) => ({
      reasons: assetLowerings(await protectionContext(trx), current, patch),
      approvers: await assetApprovers(trx, current.domain),
    }),
  },
  repository: assetRepository,
};

/** The asset-level checks name `columns[i].field`; a column PATCH body only has `field`. */
function asColumnPatchError(error: unknown): unknown {
  if (!(error instanceof HttpProblem) || !error.errors) return error;
  const errors = error.errors.map((e) => ({ ...e, field: e.field.replace(/^columns\[\d+\]\./, '') }));
  const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  return new HttpProblem(error.status, error.slug, detail, errors);
}

/** PATCH one column: how a steward classifies a column. The asset's classification rises with it. */
export function registerColumnRoutes(app: FastifyInstance) {
  const kind = app.changeKinds.register({ kind: 'assets.update_column', entity: 'assets', apply: updateColumn });
  app.patch('/v1/assets/:id/columns/:column', {
    config: { roles: STEWARDS },
    schema: {
      tags: ['catalog'],
      summary: 'Classify or describe one column (send the asset ETag in If-Match)',
      description: "If the column becomes more sensitive than the asset, the asset's classification is raised to match.",
      params: Type.Object({ id: Uuid, column: Identifier }, { additionalProperties: false }),
      body: ColumnPatch,
      response: { 200: Asset, 202: PendingChange, ...problemResponses(400, 401, 403, 404, 409, 412, 428) },
    },
    handler: async (request, reply) => {
      const { id, column } = request.params as { id: string; column: string };
      const patch = request.body as ColumnPatch;
      const outcome = await guardedChange(request, kind, async (trx) => {
        const current = await loadForUpdate(trx, assets, id);
        try {
          checkIfMatch(request, current, true);
        } catch (error) {
          // A stale edit names who changed the asset last and when, so the person knows whom to ask.
          const last = error instanceof HttpProblem && error.status === 412 ? await trx('audit_log').where({ entity: 'assets', entity_id: id }).orderBy('id', 'desc').first('actor', 'actor_email', 'at') : undefined;
          if (!last) throw error;
          throw new HttpProblem(412, 'precondition-failed', `${error instanceof Error ? error.message : ''}; last changed by ${last.actor_email ?? last.actor} at ${new Date(last.at).toISOString()}`);
        }
        const before = current.columns.find((c) => c.name === column);
        if (!before) throw new HttpProblem(404, 'not-found', `asset ${id} has no column ${column}`);
        return {
          entityId: id,
          baseVersion: current.version,
          payload: { column, patch },
          summary: `change column ${column} of ${current.store}:${current.database}.${current.table}`,
          reasons: columnLowerings(await protectionContext(trx), [before], [{ ...before, ...patch }]),
          approvers: await assetApprovers(trx, current.domain),
        };
      });
      return sendOutcome(reply, outcome, (updated) => reply.header('etag', etagOf(updated as Asset)).send(updated));
    },
  });
}

/** Changes one column, now or once approved: the asset must still be at the version the change was made from. */
async function updateColumn(trx: Knex.Transaction, target: ChangeTarget, context: AuditContext) {
  const { column, patch } = target.payload as { column: string; patch: ColumnPatch };
  const current = await loadForUpdate(trx, assets, target.entityId);
  if (target.baseVersion !== null && current.version !== target.baseVersion) throw stale('asset', target.entityId, target.baseVersion, current.version);
  if (!current.columns.some((c) => c.name === column)) throw new HttpProblem(404, 'not-found', `asset ${target.entityId} has no column ${column}`);
  const columns = current.columns.map((c) => (c.name === column ? { ...c, ...patch } : c)) as ColumnInput[];
  const entity = await assetRepository.update(trx, current, { columns }).catch((error: unknown) => {
    throw asColumnPatchError(error);
  });
  await recordAudit(trx, context, { action: 'update_column', entity: 'assets', entityId: target.entityId, oldValue: current, newValue: entity });
  return { result: entity };
}
