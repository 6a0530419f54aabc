/**
 * What the generated OpenAPI document needs beyond the route schemas: a stable operationId for every
 * operation (client generators name methods after it), an example for every request body and main
 * response (taken from the schema's own `examples`, else built from its types, formats and enums),
 * and the tags with what each covers.
 */

export const TAGS = [
  { name: 'health', description: 'Liveness and readiness probes; no key needed' },
  { name: 'access control', description: 'API keys: create, list, rotate, revoke' },
  { name: 'audit', description: 'The append-only audit log of every change' },
  { name: 'catalog', description: 'The metadata repository: domains, assets and columns, classifications, masking and retention' },
  { name: 'compliance', description: 'Compliance records: regulations, requirements, reviews' },
  { name: 'alerts', description: 'Alert configuration and channels' },
  { name: 'policy', description: 'Rego policy bundles, their rules, and policy decisions' },
  { name: 'collection', description: 'Sources (AWS accounts and regions) and collection runs of their state' },
  { name: 'evaluation', description: 'Evaluations of collected state against the policies, and their findings' },
  { name: 'access', description: 'Principals, access decisions for pipelines, access requests and grants' },
  { name: 'remediation', description: 'Planned, four-eyes approved changes that fix findings, with rollback' },
  { name: 'exceptions', description: 'Approved, expiring exceptions to findings' },
  { name: 'controls', description: 'SOC 2 controls: status, history, Type II coverage, attestations' },
  { name: 'evidence', description: 'The evidence chain, its verification and the signed auditor export' },
  { name: 'pending changes', description: 'Changes that lower protection, waiting for a second person (four eyes), and admins\' break-glass changes' },
  { name: 'data quality', description: 'Data quality rules run against the data stores: connections, runs, results and trends' },
  { name: 'integrity', description: 'Signed checkpoints of the audit log and evidence chain heads kept outside the database, and their verification' },
];

type Schema = Record<string, any>;

const FORMAT_EXAMPLES: Record<string, unknown> = {
  uuid: '0190a8d2-7c1e-7000-8000-000000000001',
  'date-time': '2026-01-01T00:00:00.000Z',
  'date-or-date-time': '2026-01-01',
  date: '2026-01-01',
  uri: 'https://hooks.bank.example/custos',
  email: 'alice@bank.example',
  binary: undefined,
};

/** An example value for a JSON schema: its own example when it has one, else built from its shape. */
export function exampleOf(schema: Schema | undefined, depth = 0): unknown {
  if (!schema || depth > 8) return undefined;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  for (const key of ['anyOf', 'oneOf']) {
    if (Array.isArray(schema[key])) {
      const branch = schema[key].find((s: Schema) => s.type !== 'null') ?? schema[key][0];
      return exampleOf(branch, depth + 1);
    }
  }
  if (Array.isArray(schema.allOf)) {
    return Object.assign({}, ...schema.allOf.map((s: Schema) => exampleOf(s, depth + 1)).filter((v: unknown) => typeof v === 'object' && v !== null));
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      if (!schema.properties) return {};
      const out: Record<string, unknown> = {};
      for (const [name, property] of Object.entries(schema.properties as Record<string, Schema>)) {
        const value = exampleOf(property, depth + 1);
        if (value !== undefined) out[name] = value;
      }
      return out;
    }
    case 'array': {
      const item = exampleOf(schema.items, depth + 1);
      return item === undefined ? [] : [item];
    }
    case 'string':
      if (schema.format && schema.format in FORMAT_EXAMPLES) return FORMAT_EXAMPLES[schema.format];
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1)).slice(0, 40);
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return undefined;
  }
}

/** `GET /v1/api-keys/:id/rotate` → `postApiKeysByIdRotate`: unique, stable, readable. */
export function operationIdOf(method: string, url: string): string {
  const words = url
    .split('/')
    .filter((segment) => segment && segment !== 'v1')
    .flatMap((segment) => (segment.startsWith(':') ? ['by', segment.slice(1)] : segment.split(/[^A-Za-z0-9]+/)))
    .filter(Boolean);
  const pascal = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  return method.toLowerCase() + (pascal || 'Root');
}

/** @fastify/swagger's per-route transform: operationId and examples, on a copy (validation is untouched). */
export function documentRoute({ schema, url, route }: { schema: Schema; url: string; route: { method: string | string[] } }) {
  if (!schema || schema.hide) return { schema, url };
  const method = [route.method].flat()[0]!;
  const copy: Schema = { ...schema, operationId: schema.operationId ?? operationIdOf(method, url) };
  if (copy.body && !copy.body.examples) {
    const example = exampleOf(copy.body);
    if (example !== undefined) copy.body = { ...copy.body, examples: [example] };
  }
  if (copy.response) {
    copy.response = { ...copy.response };
    for (const [status, response] of Object.entries(copy.response as Record<string, Schema>)) {
      if (!/^2\d\d$/.test(status) || response.examples || response.content || response.type === 'null') continue;
      const example = exampleOf(response);
      if (example !== undefined) copy.response[status] = { ...response, examples: [example] };
    }
  }
  return { schema: copy, url };
}

/** A route path as a regular expression over request paths, for telling 405 from 404. */
export function routePattern(url: string): RegExp {
  const body = url
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) return '[^/]+';
      if (segment === '*') return '.*';
      return segment.replace(/::/g, ':').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${body}/?$`);
}
