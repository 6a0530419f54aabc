import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import t, { type Test } from 'tap';
import { buildApp, type BuildAppOptions } from '../../src/app.js';
import { EmbeddedPostgresError, startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { ROLES, type Role } from '../../src/http/schemas.js';
import { TEMPLATE_DATABASE, useTemplateCluster } from './template-cluster.js';

// Random-looking: CUSTOS_ADMIN_KEY refuses keys made of words and sequences (test/security/admin-key.test.ts).
export const ADMIN_KEY = 'test-admin-key-Xq7vR2mLk9PzT4wYb8Nc';

let cluster: Promise<EmbeddedDatabase & { migratedTemplate: boolean }> | undefined;

const tempDirs: string[] = [];
// Removed when the test process ends, after every teardown (the embedded cluster has stopped by then).
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export async function tempDir(prefix = 'custos-test-'): Promise<string> {
  // The postgres user must be able to enter it when the tests run as root.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.chmod(dir, 0o755);
  tempDirs.push(dir);
  return dir;
}

/**
 * One real PostgreSQL per test file, stopped when the file's tests end. When this machine cannot run
 * it (EmbeddedPostgresError: one line naming the path and the fix), the run stops with that line
 * instead of every test of every file failing the same way.
 */
function sharedCluster(): Promise<EmbeddedDatabase & { migratedTemplate: boolean }> {
  if (!cluster) {
    // A copy of the run's template cluster when there is one (test/helpers/template-cluster.ts), else a new one.
    cluster = tempDir('custos-pg-').then(async (dir) => {
      const copied = await useTemplateCluster(dir).catch(() => false);
      return { ...(await startEmbeddedPostgres(dir, () => {}, { runtimeDir: process.env.CUSTOS_PG_RUNTIME_DIR })), migratedTemplate: copied };
    });
    cluster.catch((error: unknown) => {
      if (error instanceof EmbeddedPostgresError) t.bailout(`embedded PostgreSQL: ${error.message}`);
    });
    t.teardown(async () => (await cluster!.catch(() => undefined))?.stop());
  }
  return cluster;
}

/**
 * A new database on the shared cluster: empty, or with `migrated`, already migrated to the latest
 * (a copy of the template database, when the cluster came from the template; else empty, and the
 * app migrates it as it starts). Each app under test starts from nothing of any other test's.
 */
export async function freshDatabaseUrl(options: { migrated?: boolean } = {}): Promise<string> {
  const { url, migratedTemplate } = await sharedCluster();
  const name = `custos_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}${options.migrated && migratedTemplate ? ` TEMPLATE ${TEMPLATE_DATABASE}` : ''}`);
  await client.end();
  return url.replace(/\/custos$/, `/${name}`);
}

export interface Response {
  status: number;
  headers: Record<string, any>;
  body: any;
}

export interface TestApp {
  app: FastifyInstance;
  databaseUrl: string;
  /** A key for each role; `admin` is the bootstrap key. */
  keys: Record<Role, string>;
  call(method: string, url: string, options?: { as?: Role | null; key?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
}

export async function testApp(test: Test, options: BuildAppOptions = {}): Promise<TestApp> {
  const databaseUrl = await freshDatabaseUrl({ migrated: true });
  const app = await buildApp({
    ...options,
    // The role matrix and the fuzz tests make hundreds of unauthenticated calls from 127.0.0.1: the
    // failed-authentication limit is tested with its default in test/security/auth-rate-limit.test.ts.
    config: { databaseUrl, dataDir: await tempDir(), logLevel: (process.env.TEST_LOG_LEVEL as 'silent') ?? 'silent', adminKey: ADMIN_KEY, authFailureLimit: 1_000_000, ...options.config },
    announce: options.announce ?? (() => {}),
  });
  test.teardown(() => app.close());

  const call: TestApp['call'] = async (method, url, opts = {}) => {
    const key = opts.key ?? (opts.as === null ? undefined : keys[opts.as ?? 'admin']);
    const headers: Record<string, string> = { ...opts.headers };
    if (key) headers.authorization = `Bearer ${key}`;
    const response = await app.inject({ method: method as never, url, headers, ...(opts.body === undefined ? {} : { payload: opts.body as never }) });
    let body: unknown = response.body;
    if ((response.headers['content-type'] ?? '').toString().includes('json') && response.body) body = response.json();
    return { status: response.statusCode, headers: response.headers, body };
  };

  const keys = { admin: ADMIN_KEY } as Record<Role, string>;
  const ids: string[] = [];
  for (const role of ROLES.filter((r) => r !== 'admin')) {
    const created = await call('POST', '/v1/api-keys', { body: { role, name: `test-${role}` } });
    if (created.status !== 201) throw new Error(`could not create ${role} key: ${JSON.stringify(created.body)}`);
    keys[role] = created.body.key;
    ids.push(created.body.id);
  }
  const api = { app, databaseUrl, keys, call };
  // The role keys stand for people other than the bootstrap admin (each test's cast of characters).
  await handOver(api, ...ids);
  return api;
}

/**
 * Makes keys the bootstrap admin created through the API stand for other people: their issuer is
 * cleared, as if they had been handed over and the admin kept no copy. Without this, four-eyes counts
 * the admin and the key's subject as one person (src/auth/identity.ts), which is what
 * test/security/key-issuer.test.ts checks. Use it only where a test's two parties are meant to be two
 * people, never to test issuance itself.
 */
export async function handOver(api: Pick<TestApp, 'app'>, ...ids: string[]): Promise<void> {
  await api.app.db('api_keys').whereIn('id', ids).update({ created_by_subject: null });
}

/** Creates an entity and returns it with its ETag. */
export async function create(api: TestApp, url: string, body: unknown, as: Role = 'admin') {
  const response = await api.call('POST', url, { as, body });
  if (response.status !== 201) throw new Error(`POST ${url} → ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Polls `probe` every 100 ms until it returns a value; fails after `ms`. For background jobs. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Access decisions see catalog changes through LISTEN/NOTIFY: waits (5 s at most) until the probe holds. */
export async function until(probe: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not reached in 5 s: ${what}`);
}

/** Imports a snapshot as a file collection and waits for its evaluation to complete. */
export async function evaluateSnapshot(api: TestApp, snapshot: unknown) {
  const run = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot } });
  if (run.status !== 201) throw new Error(`import → ${run.status} ${JSON.stringify(run.body)}`);
  return waitFor(async () => {
    const list = await api.call('GET', `/v1/evaluations?collection_id=${run.body.id}`);
    return list.body.items.find((e: { status: string }) => e.status === 'complete');
  }, 'evaluation');
}

/** The Glue table wealth.clients of a `wealth` domain, with a confidential id and a restricted SSN column. */
export async function createClientsTable(api: TestApp, owners: { owner: string; steward: string }) {
  await create(api, '/v1/domains', { name: 'wealth', ...owners, review_frequency: 'quarterly' });
  return create(api, '/v1/assets', {
    store: 'glue',
    database: 'wealth',
    table: 'clients',
    domain: 'wealth',
    columns: [
      { name: 'client_id', data_type: 'string', classification: 'confidential' },
      { name: 'ssn', data_type: 'string', classification: 'restricted', pii_type: 'ssn', masking_rule: 'ssn_last4' },
    ],
  });
}

/** Approves the pending change a guarded request returned (202), as a second person (default: the admin key). */
export async function approvePending(api: TestApp, proposed: Response, as: { as?: Role; key?: string } = { as: 'admin' }) {
  if (proposed.status !== 202 || !String(proposed.headers.location ?? '').startsWith('/v1/pending-changes/')) {
    throw new Error(`expected a pending change, got ${proposed.status} ${JSON.stringify(proposed.body)}`);
  }
  const approved = await api.call('POST', `${proposed.headers.location}/approve`, { ...as, body: {} });
  if (approved.status !== 200) throw new Error(`approve → ${approved.status} ${JSON.stringify(approved.body)}`);
  return approved.body;
}

const secondAdmins = new WeakMap<TestApp, string>();
/**
 * Maps an IdP group to a role as the four-eyes rule wants it: the bootstrap admin proposes, a second
 * admin (another subject, created once per app) approves. Returns the mapping.
 */
export async function mapGroup(api: TestApp, group: string, role: string) {
  let second = secondAdmins.get(api);
  if (!second) {
    const created = await create(api, '/v1/api-keys', { name: 'second-admin', role: 'admin', subject: 'second-admin@test' });
    // Another person than the bootstrap admin who proposes: not one the proposer issued a key to.
    await handOver(api, created.id);
    second = created.key as string;
    secondAdmins.set(api, second!);
  }
  await approvePending(api, await api.call('POST', '/v1/role-mappings', { body: { group, role } }), { key: second });
  const mapping = (await api.call('GET', '/v1/role-mappings?limit=100')).body.items.find((m: { group: string }) => m.group === group);
  if (!mapping) throw new Error(`mapping ${group} not found after approval`);
  return mapping;
}
