import { parse, type Expr } from 'pgsql-ast-parser';

/**
 * The custom SQL predicate of a `custom_sql` rule: one boolean expression over the asset's own
 * columns that every row must satisfy. It is parsed (pgsql-ast-parser), checked against an allow
 * list of node types, functions and casts, and rendered again by Custos from the tree, with every
 * literal turned into a bound parameter: the text a steward wrote is never sent to the store.
 * Subqueries, other tables, aggregates, comments, several statements, DDL or DML cannot parse into
 * an allowed tree, so they are refused with the reason.
 */

export class PredicateError extends Error {}

const BINARY_OPS = new Set([
  '=', '<>', '!=', '<', '>', '<=', '>=', 'AND', 'OR', '+', '-', '*', '/', '%', '||',
  'LIKE', 'NOT LIKE', 'ILIKE', 'NOT ILIKE', 'IN', 'NOT IN', '~', '!~', '~*', '!~*', 'IS DISTINCT FROM', 'IS NOT DISTINCT FROM',
]);
const UNARY_OPS = new Set(['NOT', 'IS NULL', 'IS NOT NULL', 'IS TRUE', 'IS NOT TRUE', 'IS FALSE', 'IS NOT FALSE', '-', '+']);
/** Immutable or stable scalar functions only: nothing that sleeps, reads other relations, writes or changes settings. */
const FUNCTIONS = new Set([
  'lower', 'upper', 'length', 'char_length', 'trim', 'btrim', 'ltrim', 'rtrim', 'abs', 'round', 'floor', 'ceil', 'trunc',
  'coalesce', 'nullif', 'greatest', 'least', 'date_trunc', 'date_part', 'age', 'now', 'left', 'right', 'replace', 'position', 'strpos', 'sign',
]);
const CASTS = new Set(['int', 'integer', 'bigint', 'smallint', 'numeric', 'decimal', 'text', 'varchar', 'date', 'timestamp', 'timestamptz', 'boolean', 'bool', 'real', 'double precision', 'float8']);
const KEYWORDS = new Set(['current_date', 'current_timestamp', 'localtimestamp']);
const EXTRACT_FIELDS = new Set(['year', 'month', 'day', 'hour', 'minute', 'second', 'dow', 'doy', 'epoch']);

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

export interface CompiledPredicate {
  /** SQL over the columns named as they are quoted, with $n placeholders starting at the given number. */
  sql: string;
  values: unknown[];
}

/** Parses and checks a predicate; throws PredicateError naming what is not allowed. */
export function checkPredicate(text: string, columns: readonly string[]): Expr {
  if (text.length > 2000) throw new PredicateError('is longer than 2000 characters');
  if (/--|\/\*|;/.test(text.replace(/'(?:[^']|'')*'/g, "''"))) throw new PredicateError('must be a single expression without comments or statement separators');
  let tree: Expr;
  try {
    tree = parse(text, 'expr') as Expr;
  } catch (error) {
    throw new PredicateError(`is not a SQL expression: ${String((error as Error).message).split('\n')[0]}`);
  }
  // Compiling walks every node, so an unknown node anywhere is found now.
  compilePredicate(tree, columns, 1);
  return tree;
}

/** Renders a checked tree with literals as parameters $first, $first+1, ...; columns prefixed with `qualifier` (a table alias and a dot). */
export function compilePredicate(tree: Expr, columns: readonly string[], first: number, qualifier = ''): CompiledPredicate {
  const known = new Set(columns);
  const values: unknown[] = [];
  const param = (value: unknown, cast: string) => {
    values.push(value);
    return `$${first + values.length - 1}::${cast}`;
  };
  const render = (node: Expr | null | undefined): string => {
    if (!node) throw new PredicateError('has an empty expression');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the walk reads each node type's own fields
    const n = node as any;
    switch (n.type) {
      case 'ref':
        if (n.table) throw new PredicateError(`may only name the asset's own columns, not ${n.table.name}.${n.name}`);
        if (n.name === '*' || !known.has(n.name)) throw new PredicateError(`names ${n.name}, which is not a column of the asset`);
        return `${qualifier}${quoteIdent(n.name)}`;
      case 'integer':
        return param(String(n.value), Number.isSafeInteger(n.value) && Math.abs(n.value) < 2 ** 31 ? 'int' : 'bigint');
      case 'numeric':
        return param(String(n.value), 'numeric');
      case 'string':
        return param(n.value, 'text');
      case 'boolean':
        return n.value ? 'TRUE' : 'FALSE';
      case 'null':
        return 'NULL';
      case 'keyword':
        if (!KEYWORDS.has(n.keyword)) throw new PredicateError(`uses ${n.keyword}, which is not allowed`);
        return n.keyword.toUpperCase();
      case 'binary':
        if (!BINARY_OPS.has(n.op)) throw new PredicateError(`uses the operator ${n.op}, which is not allowed`);
        return `(${render(n.left)} ${n.op} ${render(n.right)})`;
      case 'unary':
        if (!UNARY_OPS.has(n.op)) throw new PredicateError(`uses the operator ${n.op}, which is not allowed`);
        return n.op.startsWith('IS ') ? `(${render(n.operand)} ${n.op})` : `(${n.op} ${render(n.operand)})`;
      case 'list':
        if (n.expressions.length === 0 || n.expressions.length > 1000) throw new PredicateError('has a list of 1 to 1000 values');
        return `(${n.expressions.map(render).join(', ')})`;
      case 'ternary':
        if (n.op !== 'BETWEEN' && n.op !== 'NOT BETWEEN') throw new PredicateError(`uses ${n.op}, which is not allowed`);
        return `(${render(n.value)} ${n.op} ${render(n.lo)} AND ${render(n.hi)})`;
      case 'cast': {
        const to = String(n.to?.name ?? '').toLowerCase();
        if (!CASTS.has(to) || n.to?.schema || n.to?.arrayOf) throw new PredicateError(`casts to ${to || 'a type'} that is not allowed`);
        return `(${render(n.operand)})::${to}`;
      }
      case 'call': {
        const name = String(n.function?.name ?? '').toLowerCase();
        if (n.function?.schema || !FUNCTIONS.has(name)) throw new PredicateError(`calls ${n.function?.schema ? `${n.function.schema}.` : ''}${name}, which is not an allowed function`);
        if (n.distinct || n.orderBy || n.filter || n.over || n.withinGroup) throw new PredicateError(`calls ${name} as an aggregate or window, which is not allowed`);
        return `${name}(${(n.args as Expr[]).map(render).join(', ')})`;
      }
      case 'case':
        return `(CASE${n.value ? ` ${render(n.value)}` : ''} ${(n.whens as Array<{ when: Expr; value: Expr }>).map((w) => `WHEN ${render(w.when)} THEN ${render(w.value)}`).join(' ')}${n.else ? ` ELSE ${render(n.else)}` : ''} END)`;
      case 'extract': {
        const field = String(n.field?.name ?? '').toLowerCase();
        if (!EXTRACT_FIELDS.has(field)) throw new PredicateError(`extracts ${field}, which is not allowed`);
        return `EXTRACT(${field} FROM ${render(n.from)})`;
      }
      case 'substring':
        return `substring(${render(n.value)}${n.from ? ` FROM ${render(n.from)}` : ''}${n.for ? ` FOR ${render(n.for)}` : ''})`;
      case 'select':
      case 'union':
      case 'union all':
      case 'with':
      case 'values':
        throw new PredicateError('may not contain a subquery');
      default:
        throw new PredicateError(`uses ${n.type} syntax, which is not allowed`);
    }
  };
  return { sql: render(tree), values };
}
