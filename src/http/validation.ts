import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { FieldError } from './problem.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv) => Ajv }).default;

function makeAjv(coerceTypes: boolean) {
  const ajv = new Ajv({
    // Unknown fields are an error, never silently dropped: a typo must not pass as "no change".
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: coerceTypes ? 'array' : false,
    allErrors: true,
    strict: false,
  });
  addFormats(ajv);
  // An instant (periods, `*_before`) may be a plain date, meaning its midnight UTC: `from=2026-01-01`.
  // The value is normalised to an ISO date-time in place, so handlers see one form.
  const dateTime = ajv.formats['date-time'] as { validate: (value: string) => boolean };
  ajv.addFormat('date-or-date-time', (value: string) => (/^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value))) || dateTime.validate(value));
  ajv.addKeyword({
    keyword: 'x-instant',
    modifying: true,
    schemaType: 'boolean',
    validate: (_schema: boolean, data: unknown, _parent: unknown, context?: { parentData: Record<string | number, unknown>; parentDataProperty: string | number }) => {
      if (typeof data === 'string' && context && /^\d{4}-\d{2}-\d{2}$/.test(data) && !Number.isNaN(Date.parse(data))) {
        context.parentData[context.parentDataProperty] = new Date(data).toISOString();
      }
      return true;
    },
  });
  return ajv;
}

// Query strings, path params and headers arrive as text and are coerced; JSON bodies are not, so
// `"threshold": "5"` is a type error rather than a guess.
const textAjv = makeAjv(true);
const bodyAjv = makeAjv(false);

// Compiled validators by part and schema text, for the life of the process. Ajv caches by schema
// object, but most route schemas are built inside their plugin, afresh for every app instance; the
// test suite builds hundreds of apps in one process, and compiling every route's schemas again was,
// with the response serialisers (./serialization.ts), a large part of each app's start (see
// docs/ARCHITECTURE.md, Tests). A validator is a pure function of its schema, so equal schemas share one.
const validators = new Map<string, ReturnType<FastifySchemaCompiler<unknown>>>();

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const coerced = httpPart !== 'body';
  const key = `${coerced ? 'text' : 'body'} ${JSON.stringify(schema)}`;
  let validate = validators.get(key);
  if (!validate) validators.set(key, (validate = (coerced ? textAjv : bodyAjv).compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>));
  return validate;
};

function toDotted(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

function describe(error: ErrorObject): { field: string; message: string } {
  const base = toDotted(error.instancePath);
  const join = (name: string) => (base ? `${base}.${name}` : name);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { field: join(String(params.missingProperty)), message: 'is required' };
    case 'additionalProperties':
      return { field: join(String(params.additionalProperty)), message: 'is not a known field' };
    case 'enum':
      return { field: base, message: `must be one of: ${(params.allowedValues as unknown[]).join(', ')}` };
    default:
      return { field: base, message: error.message ?? 'is invalid' };
  }
}

// What Ajv adds when a value fails every branch of a union (e.g. an enum or null): noise beside the
// branch error that says what is allowed.
const UNION_NOISE = new Set(['must be null', 'must match a schema in anyOf', 'must match exactly one schema in oneOf']);

/** Turns Ajv errors into one entry per offending field. */
export function fieldErrors(errors: ErrorObject[], location: FieldError['location']): FieldError[] {
  const byField = new Map<string, string[]>();
  for (const error of errors) {
    const { field, message } = describe(error);
    const messages = byField.get(field) ?? [];
    if (!messages.includes(message)) messages.push(message);
    byField.set(field, messages);
  }
  return [...byField].map(([field, messages]) => {
    const meaningful = messages.filter((m) => !UNION_NOISE.has(m));
    return { location, field: field || '(root)', message: (meaningful.length ? meaningful : messages).join('; ') };
  });
}
