import type { Knex } from 'knex';
import { HttpProblem } from '../http/problem.js';

export interface PageParams {
  limit?: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** A sort key: the SQL expression to order by and the row field it appears as. Must be non-null. */
export interface SortKey {
  sql: string;
  field: string;
}

export const ID_ORDER: SortKey[] = [{ sql: 'id', field: 'id' }];

const invalidCursor = () =>
  new HttpProblem(400, 'validation-error', 'querystring.cursor is not a cursor this list returned', [
    { location: 'querystring', field: 'cursor', message: 'is not a cursor this list returned' },
  ]);

function decodeCursor(cursor: string, length: number): Array<string | number> {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(values) || values.length !== length || !values.every((v) => typeof v === 'string' || typeof v === 'number')) {
    throw invalidCursor();
  }
  return values;
}

/**
 * Keyset pagination: stable under concurrent inserts, and as fast on page 1,000 as on page 1.
 * The cursor is the sort key of the last row, opaque to clients.
 */
export async function paginate<Row extends Record<string, unknown>>(
  query: Knex.QueryBuilder,
  params: PageParams,
  order: SortKey[] = ID_ORDER,
  direction: 'asc' | 'desc' = 'asc',
): Promise<Page<Row>> {
  const limit = params.limit ?? 50;
  if (params.cursor) {
    const values = decodeCursor(params.cursor, order.length);
    const tuple = order.map((k) => k.sql).join(', ');
    const placeholders = order.map(() => '?').join(', ');
    query.whereRaw(`(${tuple}) ${direction === 'asc' ? '>' : '<'} (${placeholders})`, values);
  }
  for (const key of order) query.orderByRaw(`${key.sql} ${direction}`);
  const rows = (await query.limit(limit + 1)) as Row[];
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  const next_cursor =
    rows.length > limit && last
      ? Buffer.from(JSON.stringify(order.map((k) => last[k.field]))).toString('base64url')
      : null;
  return { items, next_cursor };
}

/**
 * The same `{ items, next_cursor }` contract for lists computed in memory (the active bundle's rules,
 * the control catalog, the action registry): `items` in a stable order, `key` unique per item; the
 * cursor is the key of the last item returned.
 */
export function pageOf<T>(items: T[], params: PageParams, key: (item: T) => string): Page<T> {
  const limit = params.limit ?? 50;
  let start = 0;
  if (params.cursor) {
    const [last] = decodeCursor(params.cursor, 1);
    const index = items.findIndex((item) => key(item) === last);
    if (index < 0) throw invalidCursor();
    start = index + 1;
  }
  const page = items.slice(start, start + limit);
  const next_cursor = start + limit < items.length && page.length > 0 ? Buffer.from(JSON.stringify([key(page[page.length - 1]!)])).toString('base64url') : null;
  return { items: page, next_cursor };
}
