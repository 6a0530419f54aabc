import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** A string enum rendered as `enum` (clear errors and OpenAPI), not as an anyOf of literals. */
export function StringEnum<const T extends readonly string[]>(values: T, options: { description?: string; default?: T[number] } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** A value or null: for optional fields that can be cleared. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Uuid = Type.String({ format: 'uuid' });
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export type IdParams = Static<typeof IdParams>;

export const IsoDate = Type.String({ format: 'date', description: 'YYYY-MM-DD' });
export const IsoDateTime = Type.String({ format: 'date-time' });

/** An instant asked for (periods, `*_before`): a date-time, or a plain date for its midnight UTC. */
export const Instant = (description?: string) =>
  Type.String({ format: 'date-or-date-time', 'x-instant': true, ...(description ? { description } : {}), examples: ['2026-01-01', '2026-01-01T00:00:00Z'] });

/** The schema with an example for the OpenAPI document (validated by test/http/openapi-examples.test.ts). */
export const withExample = <T extends TSchema>(schema: T, example: Static<T>): T => ({ ...schema, examples: [example] });

/** Short human text: names, owners, identifiers. */
export const Name = Type.String({ minLength: 1, maxLength: 200 });
export const Text = Type.String({ maxLength: 10_000 });

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Page size (1-500)' })),
  cursor: Type.Optional(Type.String({ maxLength: 500, description: 'next_cursor of the previous page' })),
};

/** Fields every stored entity carries; `version` is what the ETag is made of. */
export const EntityMeta = {
  id: Uuid,
  version: Type.Integer({ minimum: 1 }),
  created_at: IsoDateTime,
  updated_at: IsoDateTime,
};

export function Page<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last' }),
  });
}

export const ROLES = ['admin', 'steward', 'compliance_officer', 'auditor', 'pipeline'] as const;
export type Role = (typeof ROLES)[number];
export const RoleSchema = StringEnum(ROLES);
