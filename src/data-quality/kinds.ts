import { Type, type TSchema } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { HttpProblem } from '../http/problem.js';
import { fieldErrors } from '../http/validation.js';
import { checkPredicate, PredicateError } from './predicate.js';

/**
 * The kinds of data quality rule (seed 001 §7.1) and the parameters each takes. Every kind's
 * `definition` has a strict TypeBox schema; a bad parameter is a 400 naming `definition.<field>`.
 * `regex` is the earlier spelling of a `format` rule with a regular expression, kept so stored
 * rules and clients keep working; `max_age_hours` likewise for freshness.
 */
export const RULE_TYPES = ['not_null', 'unique', 'range', 'regex', 'format', 'allowed_values', 'referential', 'freshness', 'row_count', 'custom_sql'] as const;
export type RuleType = (typeof RULE_TYPES)[number];
export const DQ_SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;

/** Kinds that check a column of each row; freshness and row_count check the table as a whole. */
export const COLUMN_KINDS: readonly RuleType[] = ['not_null', 'unique', 'range', 'regex', 'format', 'allowed_values', 'referential', 'freshness'];
export const TABLE_KINDS: readonly RuleType[] = ['freshness', 'row_count'];
/** What DynamoDB can check from a sampled scan; the others need a join or SQL. */
export const DYNAMODB_KINDS: readonly RuleType[] = ['not_null', 'unique', 'range', 'regex', 'format', 'allowed_values', 'freshness', 'row_count'];

export const NAMED_FORMATS = ['email', 'iso_country', 'cusip', 'isin'] as const;
export type NamedFormat = (typeof NAMED_FORMATS)[number];
/** An ISO 8601 duration such as P1D, PT26H or P1Y2M (what PostgreSQL's interval input accepts). */
export const ISO_PERIOD = '^P(?!$)(\\d+Y)?(\\d+M)?(\\d+W)?(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+S)?)?$';
const REGEX_MAX = 200;

const Bound = Type.Union([Type.Number(), Type.String({ format: 'date' }), Type.String({ format: 'date-time' }), Type.Literal('now')]);
const Regex = Type.String({ minLength: 1, maxLength: REGEX_MAX });
const ColumnName = Type.String({ minLength: 1, maxLength: 255 });
const strict = <T extends Record<string, TSchema>>(props: T) => Type.Object(props, { additionalProperties: false });

export const DEFINITIONS: Record<RuleType, TSchema> = {
  not_null: strict({}),
  unique: strict({ columns: Type.Optional(Type.Array(ColumnName, { minItems: 1, maxItems: 8, uniqueItems: true, description: 'default: the rule column' })) }),
  range: strict({ min: Type.Optional(Bound), max: Type.Optional(Bound) }),
  regex: strict({ pattern: Regex }),
  format: strict({
    pattern: Type.Optional(Type.Unsafe<NamedFormat>({ type: 'string', enum: [...NAMED_FORMATS] })),
    regex: Type.Optional(Regex),
  }),
  allowed_values: strict({ values: Type.Array(Type.Union([Type.String({ maxLength: 500 }), Type.Number(), Type.Boolean()]), { minItems: 1, maxItems: 1000 }) }),
  referential: strict({
    references: Type.Union([
      Type.String({ pattern: '^[\\w]+\\.[\\w]+$', description: 'table.column of an asset in the same store and database' }),
      strict({ asset_id: Type.String({ format: 'uuid' }), column: ColumnName }),
    ]),
  }),
  freshness: strict({ max_age: Type.Optional(Type.String({ pattern: ISO_PERIOD, maxLength: 40 })), max_age_hours: Type.Optional(Type.Number({ exclusiveMinimum: 0 })) }),
  row_count: strict({
    min: Type.Optional(Type.Integer({ minimum: 0 })),
    max: Type.Optional(Type.Integer({ minimum: 0 })),
    within_percent: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1000, description: 'of the rows the previous run of this rule counted' })),
  }),
  custom_sql: strict({ sql: Type.String({ minLength: 1, maxLength: 2000, description: 'a boolean expression over the asset\'s columns that every row must satisfy' }) }),
};

/** The message a field gets whatever Ajv said, where the earlier API promised one. */
const MESSAGES: Partial<Record<RuleType, Record<string, string>>> = {
  range: { min: 'must be a number, an ISO 8601 date or "now"', max: 'must be a number, an ISO 8601 date or "now"' },
  regex: { pattern: 'must be a valid regular expression of at most 200 characters' },
  format: { regex: 'must be a valid regular expression of at most 200 characters' },
  allowed_values: { values: 'must be a non-empty array of at most 1000 strings, numbers or booleans' },
  referential: { references: 'must name table.column or { asset_id, column } of another asset' },
  freshness: { max_age: 'must be an ISO 8601 period such as P1D or PT26H', max_age_hours: 'must be a positive number' },
  custom_sql: { sql: 'must be a SQL expression' },
};

const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv) => Ajv }).default;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false, coerceTypes: false }));
const validators = Object.fromEntries(RULE_TYPES.map((kind) => [kind, ajv.compile(DEFINITIONS[kind])]));

const invalid = (errors: Array<{ field: string; message: string }>) =>
  new HttpProblem(400, 'validation-error', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors.map((e) => ({ location: 'body' as const, ...e })));
const one = (field: string, message: string) => invalid([{ field, message }]);

export interface RuleShape {
  rule_type: RuleType;
  column_name?: string | null;
  definition?: Record<string, unknown>;
}

/**
 * Checks a rule's definition against its kind, with the asset's columns for the names it uses.
 * Pure: what needs the database (the referenced asset) is checked by the caller.
 */
export function checkDefinition(rule: RuleShape, columns: readonly string[], store: string): void {
  const d = rule.definition ?? {};
  const kind = rule.rule_type;
  if (COLUMN_KINDS.includes(kind) && !rule.column_name) throw one('column_name', `is required for a ${kind} rule`);
  if (store === 'dynamodb' && !DYNAMODB_KINDS.includes(kind)) throw one('rule_type', `a ${kind} rule cannot run on DynamoDB; use one of ${DYNAMODB_KINDS.join(', ')}`);
  if (!['aurora', 'dynamodb'].includes(store) && kind === 'custom_sql') throw one('rule_type', `a custom_sql rule runs on PostgreSQL (aurora) assets only`);
  // Presence first: the earlier API answered these with one message about the whole definition.
  if (kind === 'range' && d.min === undefined && d.max === undefined) throw one('definition', 'a range rule needs a numeric min or max (or ISO dates)');
  if (kind === 'row_count' && d.min === undefined && d.max === undefined && d.within_percent === undefined) throw one('definition', 'a row_count rule needs min, max or within_percent');
  if (kind === 'format' && (d.pattern === undefined) === (d.regex === undefined)) throw one('definition', `a format rule needs either a named pattern (${NAMED_FORMATS.join(', ')}) or a regex`);
  if (kind === 'freshness' && (d.max_age === undefined) === (d.max_age_hours === undefined)) throw one('definition.max_age', 'a freshness rule needs max_age, an ISO 8601 period such as P1D');

  const validate = validators[kind]!;
  if (!validate(d)) {
    const overrides = MESSAGES[kind] ?? {};
    const errors = fieldErrors(validate.errors ?? [], 'body').map((e) => {
      const top = e.field.split(/[.[]/)[0]!;
      return { field: e.field === '(root)' ? 'definition' : `definition.${top in overrides ? top : e.field}`, message: overrides[top] ?? e.message };
    });
    throw invalid([...new Map(errors.map((e) => [e.field, e])).values()]);
  }

  const known = new Set(columns);
  switch (kind) {
    case 'range': {
      const [min, max] = [d.min, d.max].map((b) => (b === undefined ? undefined : b === 'now' ? Date.now() : typeof b === 'number' ? b : Date.parse(String(b))));
      if (typeof d.min !== typeof d.max && d.min !== undefined && d.max !== undefined && (typeof d.min === 'number' || typeof d.max === 'number')) {
        throw one('definition.max', 'must be of the same kind as min (both numbers or both dates)');
      }
      if (min !== undefined && max !== undefined && min > max) throw one('definition.max', 'must not be below min');
      break;
    }
    case 'regex':
    case 'format': {
      const field = kind === 'regex' ? 'pattern' : 'regex';
      const pattern = d[field];
      if (typeof pattern === 'string') {
        const problem = regexProblem(pattern);
        if (problem) throw one(`definition.${field}`, `must be a valid regular expression of at most 200 characters: ${problem}`);
      }
      break;
    }
    case 'unique':
      for (const [i, column] of ((d.columns as string[] | undefined) ?? []).entries()) {
        if (!known.has(column)) throw one(`definition.columns[${i}]`, `the asset has no column ${column}`);
      }
      break;
    case 'row_count':
      if (typeof d.min === 'number' && typeof d.max === 'number' && d.min > d.max) throw one('definition.max', 'must not be below min');
      break;
    case 'custom_sql':
      try {
        checkPredicate(String(d.sql), columns);
      } catch (error) {
        if (error instanceof PredicateError) throw one('definition.sql', `${error.message}`);
        throw error;
      }
      break;
  }
}

/**
 * Why a pattern is refused, or undefined. Bounded: 200 characters, no back-references, and no
 * quantified group that itself ends in a quantifier ((a+)+ and kin), the shapes that backtrack
 * exponentially in JavaScript (DynamoDB rules are checked in Node).
 */
export function regexProblem(pattern: string): string | undefined {
  if (pattern.length > REGEX_MAX) return 'too long';
  try {
    new RegExp(pattern, 'u');
  } catch (error) {
    return (error as Error).message;
  }
  if (/\\[1-9]|\\k</.test(pattern)) return 'back-references are not allowed';
  if (/[+*}]\)[+*{?]/.test(pattern) || /\([^()]*[+*][^()]*\)[+*{]/.test(pattern)) return 'nested quantifiers are not allowed';
  return undefined;
}

/** The regular expression of a regex or format rule (named formats have theirs). */
export const EMAIL_REGEX = '^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}$';

/** ISO 3166-1 alpha-2 country codes (officially assigned). */
export const ISO_COUNTRIES = (
  'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ ' +
  'DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP ' +
  'KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ ' +
  'OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ ' +
  'UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'
).split(' ');

/** CUSIP: 8 characters and a check digit (modulus 10, double-add-double). */
export function cusipValid(value: string): boolean {
  if (!/^[0-9A-Z*@#]{8}[0-9]$/.test(value)) return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    const c = value[i]!;
    let v = /[0-9]/.test(c) ? Number(c) : /[A-Z]/.test(c) ? c.charCodeAt(0) - 55 : c === '*' ? 36 : c === '@' ? 37 : 38;
    if (i % 2 === 1) v *= 2;
    sum += Math.floor(v / 10) + (v % 10);
  }
  return (10 - (sum % 10)) % 10 === Number(value[8]);
}

/** ISIN: country prefix, 9 characters, a Luhn check digit over the letters expanded to numbers. */
export function isinValid(value: string): boolean {
  if (!/^[A-Z]{2}[0-9A-Z]{9}[0-9]$/.test(value)) return false;
  const digits = [...value].map((c) => (/[A-Z]/.test(c) ? String(c.charCodeAt(0) - 55) : c)).join('');
  let sum = 0;
  for (let j = 0; j < digits.length; j++) {
    let d = Number(digits[digits.length - 1 - j]);
    if (j % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Hours of an ISO 8601 period, for checks in Node (years and months counted as 365 and 30 days). */
export function periodMs(period: string): number {
  const m = new RegExp(ISO_PERIOD).exec(period);
  if (!m) throw new Error(`not an ISO 8601 period: ${period}`);
  const n = (i: number) => Number((m[i] ?? '0').replace(/\D/g, '') || 0);
  const days = n(1) * 365 + n(2) * 30 + n(3) * 7 + n(4);
  return ((days * 24 + n(6)) * 60 + n(7)) * 60_000 + n(8) * 1000;
}

/** The freshness period of a rule, old or new spelling. */
export const maxAgeOf = (d: Record<string, unknown>) => (typeof d.max_age === 'string' ? d.max_age : `PT${Math.max(1, Math.round(Number(d.max_age_hours) * 60))}M`);
