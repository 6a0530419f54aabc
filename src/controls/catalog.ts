import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';

export const CONTROL_ID = '^(CC[1-9]\\.[1-9]|A1\\.[1-3]|C1\\.[12]|PI1\\.[1-5])$';
export const EVIDENCE_IDS = ['collection-runs', 'evaluation-results', 'audit-log', 'access-grants', 'policy-bundles', 'decision-log', 'attestations', 'data-quality-runs'] as const;
const CATEGORIES = [
  'Control Environment', 'Communication and Information', 'Risk Assessment', 'Monitoring Activities', 'Control Activities',
  'Logical and Physical Access Controls', 'System Operations', 'Change Management', 'Risk Mitigation', 'Availability', 'Confidentiality', 'Processing Integrity',
] as const;

const Control = Type.Object(
  {
    id: Type.String({ pattern: CONTROL_ID }),
    title: Type.String({ minLength: 3 }),
    description: Type.String({ minLength: 10 }),
    category: Type.Union(CATEGORIES.map((c) => Type.Literal(c))),
    automation: Type.Union([Type.Literal('automated'), Type.Literal('partial'), Type.Literal('manual')]),
    evidence: Type.Array(Type.Union(EVIDENCE_IDS.map((e) => Type.Literal(e))), { minItems: 1, uniqueItems: true }),
  },
  { additionalProperties: false },
);
export type Control = Static<typeof Control>;

const Catalog = Type.Object(
  { framework: Type.String(), version: Type.String(), controls: Type.Array(Control, { minItems: 1 }) },
  { additionalProperties: false },
);
export type Catalog = Static<typeof Catalog>;

export class CatalogError extends Error {}

/** Checks a catalog strictly: the schema, then no duplicate ids. Throws CatalogError naming the problem. */
export function validateCatalog(document: unknown): Catalog {
  const validate = new Ajv({ allErrors: true, strict: false }).compile<Catalog>(Catalog);
  if (!validate(document)) {
    const problems = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`);
    throw new CatalogError(`control catalog is invalid: ${problems.join('; ')}`);
  }
  const seen = new Set<string>();
  for (const control of document.controls) {
    if (seen.has(control.id)) throw new CatalogError(`control catalog is invalid: duplicate control id ${control.id}`);
    seen.add(control.id);
  }
  return document;
}

let shipped: Catalog | undefined;

/** The shipped catalog, loaded once. */
export function shippedCatalog(): Catalog {
  return (shipped ??= loadShippedCatalog());
}

/** The catalog shipped in controls/soc2.json, found from src/ or dist/src/. */
export function loadShippedCatalog(): Catalog {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'controls', 'soc2.json');
    if (existsSync(file)) return validateCatalog(JSON.parse(readFileSync(file, 'utf8')));
  }
  throw new CatalogError('controls/soc2.json not found');
}

/**
 * The rule → control mapping has one source: each rule's `controls` metadata. This returns the
 * control ids rules name that the catalog does not have, so a bundle that disagrees is refused.
 */
export function unknownControls(catalog: Catalog, rules: Array<{ id: string; controls: string[] }>): string[] {
  const known = new Set(catalog.controls.map((c) => c.id));
  return [...new Set(rules.flatMap((r) => r.controls.filter((c) => !known.has(c)).map((c) => `${c} (rule ${r.id})`)))].sort();
}
