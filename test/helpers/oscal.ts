import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Test } from 'tap';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv) => Ajv }).default;

export const schemaText = readFileSync(new URL('../../evidence/schemas/oscal_assessment-results_schema.json', import.meta.url), 'utf8');

// The official NIST schema is draft-07 with \p{L} patterns: Ajv's default draft-07 with unicode
// regular expressions and every format checked (date-time, uri, uri-reference).
const ajv = new Ajv({ allErrors: true, unicodeRegExp: true, validateFormats: true });
addFormats(ajv);
export const validate = ajv.compile(JSON.parse(schemaText) as object);

export function assertValid(t: Test, document: unknown) {
  const valid = validate(document);
  t.ok(valid, 'valid against the OSCAL assessment-results schema');
  if (!valid) t.comment(JSON.stringify(validate.errors?.slice(0, 10), null, 2));
}
