/**
 * What the generated OpenAPI document needs beyond the route schemas: a stable operationId for every
 * operation (client generators name methods after it), an example for every request body and main
 * response (taken from the schema's own `examples`, else composed from its fields' examples, formats
 * and enums, a nullable field shown as null, and a string field without any by its name when the name
 * means one thing across the API: FIELD_EXAMPLES), and the tags with what each covers.
 * test/http/openapi-examples.test.ts validates every example and refuses the filler (`x`) used when
 * none of these applies: such a field needs an `examples` in its route schema.
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

/**
 * String fields whose name means the same thing wherever it appears, with a value that reads like
 * the demo estate's. A field whose meaning depends on its object (`name`, `description`, `kind`, …)
 * is not here: its schema carries its own `examples`.
 */
const FIELD_EXAMPLES: Record<string, string> = {
  account: '123456789012',
  account_id: '123456789012',
  region: 'us-east-1',
  database: 'wealth',
  table: 'clients',
  table_name: 'clients',
  column: 'ssn',
  column_name: 'ssn',
  columns: 'ssn',
  excluded_columns: 'iban',
  domain: 'Client',
  purpose: 'kyc-review',
  principal: 'arn:aws:iam::123456789012:role/analytics-etl',
  arn: 'arn:aws:iam::123456789012:role/analytics-etl',
  role_arn: 'arn:aws:iam::123456789012:role/custos-collector',
  topic_arn: 'arn:aws:sns:us-east-1:123456789012:custos-alerts',
  rule_id: 's3.bucket_public_read',
  control_id: 'CC6.1',
  control: 'CC6.1',
  controls: 'CC6.1',
  resource_id: 'wealth-public-site',
  resource_ids: 'wealth-public-site',
  resource_type: 'AWS::S3::Bucket',
  resource_types: 'AWS::S3::Bucket',
  bundle_revision: 'rego-2026-01-01',
  revision: 'rego-2026-01-01',
  sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  body_sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  catalog_sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  hash: 'bbe59bd8690e523ea8429f597614ba3f55e1a338fd2678fb08fce53f9ec947a8',
  prev_hash: '5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef',
  key_id: 'a3f1c2d4e5b697881234567890abcdef0123456789abcdef0123456789abcdef',
  owner: 'head.client-services@bank.example',
  steward: 'client-data.steward@bank.example',
  subject: 'alice@bank.example',
  actor_subject: 'alice@bank.example',
  proposer_subject: 'alice@bank.example',
  decider_subject: 'bob@bank.example',
  requester_subject: 'alice@bank.example',
  subjects: 'client-data.steward@bank.example',
  email: 'alice@bank.example',
  actor_email: 'alice@bank.example',
  actor: 'alice',
  requester: 'alice',
  requested_by: 'alice',
  proposed_by: 'alice',
  decided_by: 'bob',
  approver: 'bob',
  attested_by: 'carol@bank.example',
  created_by: 'admin',
  uploaded_by: 'carol',
  activated_by: 'dave',
  responsible_party: 'Chief Compliance Officer',
  team: 'analytics',
  store: 'aurora',
  classification: 'restricted',
  masking_rule: 'ssn_last4',
  retention_policy: 'client-data',
  data_type: 'varchar',
  regulation: 'SOC2',
  requirement_id: 'CC6.1',
  justification: 'Public marketing site, no client data; reviewed by security.',
  compensating_control: 'CloudFront in front; the bucket holds only static assets',
  resource_pattern: 'wealth-public-*',
  statement: 'Code of conduct acknowledged by all staff for 2026 (HR report HR-2026-14).',
  comment: 'Reviewed with the data owner',
  note: 'Reviewed with the data owner',
  reason: 'Planned maintenance of the collector role',
  msg: 'bucket wealth-public-site is readable by anyone through its ACL',
  location: 's3://wealth-client-documents/client-documents/',
  schedule: '0 6 * * *',
  period: 'P7Y',
  data_category: 'client records',
  request_id: '0190a8d2-7c1e-7000-8000-0000000000aa',
  client_ip: '10.0.12.34',
  entity: 'assets',
  entity_id: '0190a8d2-7c1e-7000-8000-000000000001',
  filename: 'hr-2026-14.pdf',
  media_type: 'application/pdf',
  csrf_token: 'q3Jx7n0cV2kYwH8sT4bL9mZ1',
  key_prefix: 'cus_AbCd',
  idempotency_key: 'remediation:0190a8d2-7c1e-7000-8000-000000000001:wealth-public-site:apply',
  aws_request_ids: 'c2f8a1d4-5e6b-4c7d-8e9f-0a1b2c3d4e5f',
  request_ids: 'c2f8a1d4-5e6b-4c7d-8e9f-0a1b2c3d4e5f',
  grant_request_id: 'c2f8a1d4-5e6b-4c7d-8e9f-0a1b2c3d4e5f',
  revoke_request_id: 'c2f8a1d4-5e6b-4c7d-8e9f-0a1b2c3d4e5f',
  catalog_id: '123456789012',
  tag_key: 'classification',
  tag_values: 'confidential',
  metric: 'findings.open',
  alert_name: 'Critical findings open',
  rule_url: '/v1/policies/s3.bucket_public_read',
  href: '/v1/findings?rule_id=s3.bucket_public_read',
  severity: 'critical',
  role: 'steward',
  proposer_role: 'steward',
  entrypoint: 'custos/compliance/violations',
  entrypoints: 'custos/compliance/violations',
  package: 'custos.rules.s3.bucket_public_read',
  remediation: 's3_block_public_access',
  source: 'demo-aws',
  sources: 'demo-aws',
  gaps: 'demo-aws/config: config:DescribeComplianceByConfigRule answered HTTP 500 after 5 attempts',
  problem: 'seq 42 is missing before item 43: an item was deleted',
  problems: 'seq 42 is missing before item 43: an item was deleted',
  head: 'bbe59bd8690e523ea8429f597614ba3f55e1a338fd2678fb08fce53f9ec947a8',
  group: 'custos-admins',
  permissions: 'SELECT',
  permissions_with_grant_option: 'SELECT',
  handling_requirements: 'encrypted at rest and in transit',
  category: 'Logical and Physical Access Controls',
  automation: 'automated',
  framework: 'SOC 2',
  version: '2017 TSC (2022 points of focus)',
  rules: 's3.bucket_public_read',
  evidence: 'collection',
  summary: 'lower the classification of wealth.clients.marital_status from confidential to internal',
  reasons: 'lowers the classification of wealth.clients.marital_status',
  never: 'alice@bank.example',
  body_store: 'postgres',
  trigger: 'api',
  comparison: 'gt',
  rel: 'findings',
  unit: 'findings',
  dimensions: 'severity',
  evaluated_on: 'evaluation',
  target: 'https://hooks.bank.example/custos',
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  value: '123-45-6789',
  masked: '***-**-6789',
  code: 'restricted_column',
  message: 'ssn is restricted: read masked under a grant covering it',
  row_filter: "region = 'us-east-1'",
  grants: '0190a8d2-7c1e-7000-8000-0000000000cc',
  mask_char: '*',
  replacement: '[REDACTED]',
  notes: 'Reviewed at the quarterly compliance committee.',
  type: 'AWS::S3::Bucket',
  expression_name: 'restricted-data',
  values: 'confidential',
  rule_type: 'unique',
  message_id: '0190a8d2-7c1e-7000-8000-0000000000dd',
  evaluation_id: '0190a8d2-7c1e-7000-8000-0000000000ee',
  decision_id: '0190a8d2-7c1e-7000-8000-0000000000ff',
  source_id: '0190a8d2-7c1e-7000-8000-000000000011',
  source_ids: '0190a8d2-7c1e-7000-8000-000000000011',
  public_key_pem: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA…\n-----END PUBLIC KEY-----\n',
};

/** An example value for a JSON schema: its own example when it has one, else built from its shape. */
export function exampleOf(schema: Schema | undefined, depth = 0, field?: string): unknown {
  if (!schema || depth > 8) return undefined;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  for (const key of ['anyOf', 'oneOf']) {
    if (Array.isArray(schema[key])) {
      // A value or null (cleared, not yet decided, the last page): null, unless the union says otherwise.
      if (schema[key].some((s: Schema) => s.type === 'null')) return null;
      return exampleOf(schema[key][0], depth + 1, field);
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
        const value = exampleOf(property, depth + 1, name);
        if (value !== undefined) out[name] = value;
      }
      return out;
    }
    case 'array': {
      const item = exampleOf(schema.items, depth + 1, field);
      return item === undefined ? [] : [item];
    }
    case 'string':
      if (schema.format && schema.format in FORMAT_EXAMPLES) return FORMAT_EXAMPLES[schema.format];
      if (field !== undefined && field in FIELD_EXAMPLES) return FIELD_EXAMPLES[field];
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1)).slice(0, 40);
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case undefined:
      // Any JSON (Type.Unknown: a policy input, a stored value): an empty object stands for it.
      return schema.type === undefined && !schema.anyOf && !schema.oneOf ? {} : undefined;
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

/**
 * An enum or null (`Nullable(StringEnum(...))`) as one schema whose enum lists null: OpenAPI 3.0
 * renders the union as `nullable: true`, which does not admit null beside an `enum` without it, so
 * the document would say null is refused where the API accepts it (and sends it).
 */
function nullableEnums(schema: unknown): any {
  if (Array.isArray(schema)) return schema.map(nullableEnums);
  if (!schema || typeof schema !== 'object') return schema;
  const node = schema as Schema;
  const branches = node.anyOf ?? node.oneOf;
  if (Array.isArray(branches) && branches.length === 2) {
    const other = branches.find((s: Schema) => s.type !== 'null');
    if (other && Array.isArray(other.enum) && branches.some((s: Schema) => s.type === 'null')) {
      const { anyOf: _a, oneOf: _o, ...rest } = node;
      return { ...rest, ...other, enum: [...other.enum, null], nullable: true };
    }
  }
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) out[key] = key === 'examples' || key === 'default' || key === 'enum' ? value : nullableEnums(value);
  return out;
}

/** @fastify/swagger's per-route transform: operationId and examples, on a copy (validation is untouched). */
export function documentRoute({ schema, url, route }: { schema: Schema; url: string; route: { method: string | string[] } }) {
  if (!schema || schema.hide) return { schema, url };
  const method = [route.method].flat()[0]!;
  const copy: Schema = { ...schema, operationId: schema.operationId ?? operationIdOf(method, url) };
  if (copy.body) copy.body = nullableEnums(copy.body);
  if (copy.querystring) copy.querystring = nullableEnums(copy.querystring);
  if (copy.body && !copy.body.examples) {
    const example = exampleOf(copy.body);
    if (example !== undefined) copy.body = { ...copy.body, examples: [example] };
  }
  if (copy.response) {
    copy.response = { ...copy.response };
    for (const [status, response] of Object.entries(copy.response as Record<string, Schema>)) {
      if (!/^2\d\d$/.test(status) || response.content || response.type === 'null') continue;
      const documented = nullableEnums(response);
      const example = documented.examples ? undefined : exampleOf(documented);
      copy.response[status] = example === undefined ? documented : { ...documented, examples: [example] };
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
