import t, { type Test } from 'tap';
import { validatorCompiler } from '../../src/http/validation.js';
import { testApp } from '../helpers/app.js';

/*
 * Every operation of the generated OpenAPI document shows what to send and what comes back: its JSON
 * request body and its main (first 2xx) JSON response carry an example, and each example is valid
 * against the schema beside it (with the server's own validator: the formats and keywords requests
 * are checked with), so an example cannot drift from the API. Examples are written in the route
 * schemas (`examples` of a TypeBox schema or of its fields); src/http/openapi.ts composes an
 * object's example from its fields' when it has none of its own, and falls back to a filler for a
 * string that has neither an example nor a format: such a filler (`x`, `xxx`) in a documented
 * example fails here, so every example reads like real data.
 */
type Json = Record<string, any>;

/** Paths of the filler strings src/http/openapi.ts makes up where a schema says nothing. */
function fillers(value: unknown, at = ''): string[] {
  if (typeof value === 'string') return /^x+$/.test(value) ? [at || '(the example)'] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => fillers(item, `${at}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => fillers(item, at ? `${at}.${key}` : key));
  return [];
}

function examplesOf(media: Json): unknown[] {
  if (media.example !== undefined) return [media.example];
  if (media.examples) return Object.values(media.examples as Record<string, { value: unknown }>).map((e) => e.value);
  if (Array.isArray(media.schema?.examples)) return media.schema.examples;
  return [];
}

function check(t: Test, name: string, media: Json | undefined) {
  if (!media) return;
  const examples = examplesOf(media);
  if (!t.ok(examples.length > 0, `${name} has an example`)) return;
  const validate = validatorCompiler({ schema: media.schema, method: 'POST', url: '/', httpPart: 'body' }) as ((value: unknown) => boolean) & { errors?: unknown };
  for (const example of examples) {
    const copy = structuredClone(example);
    t.ok(validate(copy), `${name}: the example is valid`, { errors: validate.errors, example });
    t.same(fillers(example), [], `${name}: the example has no filler strings`);
  }
}

t.test('every request body and main response of the OpenAPI document has a valid, realistic example', async (t) => {
  const api = await testApp(t);
  const doc = api.app.swagger() as Json;
  let operations = 0;
  for (const [route, methods] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, op] of Object.entries(methods as Record<string, Json>)) {
      operations++;
      const name = `${method.toUpperCase()} ${route}`;
      check(t, `${name} request body`, op.requestBody?.content?.['application/json']);
      const main = Object.entries(op.responses as Record<string, Json>).find(([code]) => /^2\d\d$/.test(code));
      if (main) check(t, `${name} response ${main[0]}`, main[1].content?.['application/json']);
    }
  }
  t.ok(operations > 100, `${operations} operations`);
});
