import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { ID_ORDER, paginate, type Page, type PageParams, type SortKey } from './pagination.js';

/** What every stored entity has; `version` increases with each update and makes the ETag. */
export interface Entity {
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
}

export type Filter = (query: Knex.QueryBuilder, value: never) => void;

/** Filters that match one column exactly, named like the column. */
export function equalityFilters(...columns: string[]): Record<string, Filter> {
  return Object.fromEntries(columns.map((column) => [column, (query: Knex.QueryBuilder, value: never) => query.where(column, value)]));
}

/** The operations the generic routes need; `create`/`update`/`remove` run inside the caller's transaction. */
export interface CrudRepository<E extends Entity, C, P> {
  list(db: Knex, query: PageParams & Record<string, unknown>): Promise<Page<E>>;
  get(db: Knex, id: string, forUpdate?: boolean): Promise<E | undefined>;
  create(trx: Knex.Transaction, input: C): Promise<E>;
  update(trx: Knex.Transaction, current: E, patch: P): Promise<E>;
  remove(trx: Knex.Transaction, current: E): Promise<void>;
}

export interface TableSpec<E extends Entity, C, P> {
  table: string;
  /** Columns stored as jsonb: serialised explicitly, since pg would send a JS array as a PG array. */
  jsonColumns?: string[];
  /** Query-string filters: name → how it narrows the query. */
  filters?: Record<string, Filter>;
  /** Sort order for a given query; by id (creation order) unless said otherwise. */
  order?: (query: Record<string, unknown>) => SortKey[];
  /** Checks across fields or rows that a schema cannot express; throws an HttpProblem. */
  validate?: (trx: Knex.Transaction, candidate: C, current?: E) => Promise<void> | void;
  /** Values derived from the input (e.g. a period in days), merged into the stored row. */
  derive?: (candidate: C) => Record<string, unknown>;
  /** Refuses an update that is valid alone but not against the current state; throws an HttpProblem. */
  beforeUpdate?: (trx: Knex.Transaction, current: E, patch: P) => Promise<void>;
}

function toRow(values: Record<string, unknown>, jsonColumns: string[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    row[key] = jsonColumns.includes(key) && value !== null ? JSON.stringify(value) : value;
  }
  return row;
}

/** A repository for an entity stored as one row of one table. */
export function tableRepository<E extends Entity, C extends object, P extends object>(spec: TableSpec<E, C, P>): CrudRepository<E, C, P> {
  const json = spec.jsonColumns ?? [];
  const stored = (candidate: C) => toRow({ ...candidate, ...spec.derive?.(candidate) }, json);
  return {
    async list(db, query) {
      const qb = db(spec.table).select('*');
      for (const [name, filter] of Object.entries(spec.filters ?? {})) {
        if (query[name] !== undefined) filter(qb, query[name] as never);
      }
      return paginate<E & Record<string, unknown>>(qb, query, spec.order?.(query) ?? ID_ORDER);
    },
    async get(db, id, forUpdate = false) {
      const qb = db(spec.table).where({ id }).first();
      return forUpdate ? qb.forUpdate() : qb;
    },
    async create(trx, input) {
      await spec.validate?.(trx, input);
      const [created] = await trx(spec.table).insert({ id: uuidv7(), ...stored(input) }).returning('*');
      return created;
    },
    async update(trx, current, patch) {
      await spec.beforeUpdate?.(trx, current, patch);
      const { id, version, created_at, updated_at, ...rest } = current;
      const candidate = { ...rest, ...patch } as unknown as C;
      await spec.validate?.(trx, candidate, current);
      const [updated] = await trx(spec.table)
        .update({ ...stored(candidate), version: version + 1, updated_at: trx.fn.now() })
        .where({ id })
        .returning('*');
      return updated;
    },
    async remove(trx, current) {
      await trx(spec.table).where({ id: current.id }).delete();
    },
  };
}
