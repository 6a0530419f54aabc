import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { ADMIN_ONLY, CATALOG_READERS } from '../auth/roles.js';
import { equalityFilters, tableRepository, type Entity } from '../db/table-repository.js';
import { patchOf, type ResourceDefinition } from '../http/crud.js';
import { HttpProblem } from '../http/problem.js';
import { fieldErrors } from '../http/validation.js';
import { EntityMeta, StringEnum } from '../http/schemas.js';

/**
 * Where data quality rules run: one connection per catalog database (store + database), like a
 * source is per account and region. Credentials are references only: a Secrets Manager ARN, or the
 * name of an environment variable of the Custos process (prefixed CUSTOS_DQ_, so a connection cannot
 * send Custos's own secrets to a host of its choosing). Admins register them: a connection decides
 * which host receives a credential.
 */
export const STORES = ['aurora', 'dynamodb'] as const;
export const ENV_PREFIX = 'CUSTOS_DQ_';

const Credential = Type.Union(
  [
    Type.Object({ secret_arn: Type.String({ pattern: '^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$', description: 'SecretString: {"username","password"} (the RDS shape) or the password alone' }) }, { additionalProperties: false }),
    Type.Object({ env: Type.String({ pattern: `^${ENV_PREFIX}[A-Z0-9_]{1,100}$`, description: `name of an environment variable holding the password, starting ${ENV_PREFIX}` }) }, { additionalProperties: false }),
  ],
  { description: 'never the secret itself' },
);
const common = {
  sample_size: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, default: 10, description: 'sample keys kept per failing rule (masked)' })),
};
export const PostgresSettings = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.-]+$' }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 5432 })),
    dbname: Type.String({ minLength: 1, maxLength: 63, description: 'the PostgreSQL database' }),
    schema: Type.Optional(Type.String({ minLength: 1, maxLength: 63, default: 'public' })),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'unless the secret names one' })),
    credential: Credential,
    tls: Type.Optional(Type.Boolean({ default: true, description: 'verify the server certificate (false only for local databases)' })),
    statement_timeout_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 })),
    ...common,
  },
  { additionalProperties: false },
);
export const DynamoSettings = Type.Object(
  {
    region: Type.Optional(Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]$' })),
    scan_limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'items read per rule at most; a larger table is sampled' })),
    ...common,
  },
  { additionalProperties: false },
);
export type PostgresSettings = Static<typeof PostgresSettings>;
export type DynamoSettings = Static<typeof DynamoSettings>;

const fields = {
  name: Type.String({ minLength: 1, maxLength: 100, examples: ['wealth-aurora'] }),
  store: StringEnum(STORES),
  database: Type.String({ minLength: 1, maxLength: 255, description: 'the catalog database whose assets it serves' }),
  settings: Type.Record(Type.String(), Type.Unknown(), { description: 'aurora: host, port, dbname, schema, username, credential, tls, statement_timeout_ms, sample_size; dynamodb: region, scan_limit, sample_size' }),
  enabled: Type.Optional(Type.Boolean()),
};
const ConnectionCreate = Type.Object(fields, { additionalProperties: false });
type ConnectionCreate = Static<typeof ConnectionCreate>;
const Connection = Type.Object({ ...EntityMeta, ...fields, enabled: Type.Boolean() }, { title: 'DataQualityConnection' });
export type Connection = Static<typeof Connection> & Entity;

const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, coerceTypes: false });
const validators = { aurora: ajv.compile(PostgresSettings), dynamodb: ajv.compile(DynamoSettings) };

function checkSettings(candidate: ConnectionCreate) {
  // Defaults are filled in here, so what is stored says what is used.
  const settings = structuredClone(candidate.settings);
  const validate = validators[candidate.store];
  if (!validate(settings)) {
    const errors = fieldErrors(validate.errors ?? [], 'body').map((e) => ({ ...e, field: e.field === '(root)' ? 'settings' : `settings.${e.field}` }));
    throw new HttpProblem(400, 'validation-error', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
  }
  return settings;
}

export const dataQualityConnections: ResourceDefinition<Connection, ConnectionCreate, Partial<ConnectionCreate>> = {
  name: 'data-quality-connections',
  singular: 'data quality connection',
  tag: 'data quality',
  schemas: {
    entity: Connection,
    create: ConnectionCreate,
    patch: patchOf(ConnectionCreate),
    filters: { store: StringEnum(STORES), database: Type.String({ maxLength: 255 }), enabled: Type.Boolean() },
  },
  roles: { read: CATALOG_READERS, write: ADMIN_ONLY },
  repository: tableRepository({
    table: 'data_quality_connections',
    jsonColumns: ['settings'],
    filters: equalityFilters('store', 'database', 'enabled'),
    validate: (_trx, candidate) => void checkSettings(candidate),
    derive: (candidate) => ({ settings: checkSettings(candidate) }),
  }),
};

export class ConnectionError extends Error {}

/** The user name and password of a PostgreSQL connection, read now from where it is kept. */
export async function resolveCredential(
  connection: Pick<Connection, 'name'> & { settings: PostgresSettings },
  aws: { endpoint?: string; region?: string; maxAttempts?: number },
): Promise<{ user: string | undefined; password: string }> {
  const { credential, username } = connection.settings;
  if ('env' in credential) {
    const password = process.env[credential.env];
    if (!password) throw new ConnectionError(`connection ${connection.name}: environment variable ${credential.env} is not set`);
    return { user: username, password };
  }
  const region = credential.secret_arn.split(':')[3];
  const client = new SecretsManagerClient({ region: region ?? aws.region, endpoint: aws.endpoint, maxAttempts: aws.maxAttempts ?? 3 });
  let secret: string | undefined;
  try {
    secret = (await client.send(new GetSecretValueCommand({ SecretId: credential.secret_arn }))).SecretString;
  } catch (error) {
    const e = error as Error;
    throw new ConnectionError(`connection ${connection.name}: cannot read secret ${credential.secret_arn}: ${e.name}: ${e.message}`);
  } finally {
    client.destroy();
  }
  if (!secret) throw new ConnectionError(`connection ${connection.name}: secret ${credential.secret_arn} has no SecretString`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(secret);
  } catch {
    return { user: username, password: secret }; // not JSON: the secret is the password itself
  }
  const fields = (parsed ?? {}) as { username?: unknown; password?: unknown };
  if (typeof fields.password !== 'string') throw new ConnectionError(`connection ${connection.name}: secret ${credential.secret_arn} has no password field`);
  return { user: typeof fields.username === 'string' ? fields.username : username, password: fields.password };
}
