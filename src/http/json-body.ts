import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpProblem } from './problem.js';

/** Deepest nesting of objects and arrays a JSON body may have; no API document comes close. */
export const MAX_JSON_DEPTH = 64;

/**
 * One pass over the raw text, before JSON.parse: the nesting depth outside strings, and whether a
 * string holds the escape \u0000. A body nested 6,000 deep is refused before anything recurses
 * over it (JSON.parse, validation, jsonb); NUL is refused because PostgreSQL text and jsonb cannot
 * hold it, and one such value in a shared group insert would fail other callers' writes.
 */
export function scanJson(text: string): { tooDeep: boolean; nul: boolean } {
  let depth = 0;
  let inString = false;
  let nul = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) {
        if (text.charCodeAt(i + 1) === 0x75 /* u */ && text.slice(i + 2, i + 6) === '0000') nul = true;
        i++;
      } else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > MAX_JSON_DEPTH) return { tooDeep: true, nul };
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return { tooDeep: false, nul };
}

/** The dotted path of the first key or string value holding NUL, e.g. `context.note` or `checks[2].purpose`. */
export function nulPath(value: unknown): string {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (typeof node === 'string') {
      if (node.includes('\0')) return path || '(root)';
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], `${path}[${i}]`]);
    } else if (node && typeof node === 'object') {
      for (const [key, child] of Object.entries(node).reverse()) {
        const childPath = path ? `${path}.${key}` : key;
        if (key.includes('\0')) return childPath;
        stack.push([child, childPath]);
      }
    }
  }
  return '(root)';
}

export const tooDeepProblem = () => new HttpProblem(400, 'malformed-body', `the JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`);

/** The 400 of a body holding NUL, naming where. */
export function nulProblem(value: unknown): HttpProblem {
  const field = nulPath(value);
  const message = 'must not contain the NUL character (\\u0000)';
  return new HttpProblem(400, 'validation-error', `body.${field} ${message}`, [{ location: 'body', field, message }]);
}

type ParseDone = (error: Error | null, value?: unknown) => void;

/** Fastify's JSON parser, refusing over-deep nesting and NUL first: `(request, text, done)`. */
export function jsonTextParser(app: FastifyInstance): (request: FastifyRequest, text: string, done: ParseDone) => void {
  const parse = app.getDefaultJsonParser('error', 'error');
  return (request, text, done) => {
    const { tooDeep, nul } = scanJson(text);
    if (tooDeep) return done(tooDeepProblem(), undefined);
    parse(request, text, (error, value) => (error || !nul ? done(error, value) : done(nulProblem(value), undefined)));
  };
}

/** Replaces Fastify's JSON parser with one that refuses over-deep nesting and NUL, then parses as before. */
export function registerJsonBodyParser(app: FastifyInstance): void {
  const parse = jsonTextParser(app);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => parse(request, body as string, done));
}
