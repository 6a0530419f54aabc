import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Test } from 'tap';
import { loadDemoData } from '../../src/demo/load.js';
import { createReadOnlyRole, createWealthData, demoRules } from '../../src/demo/wealth-data.js';
import { create, freshDatabaseUrl, waitFor, type TestApp } from '../helpers/app.js';

/** A database of its own on the test file's embedded server, with a pg client on it (closed on teardown). */
export async function wealthDatabase(t: Test, options: { defects: boolean }) {
  const url = new URL(await freshDatabaseUrl());
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  t.teardown(() => client.end());
  await createWealthData(client, options);
  const role = `dq_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await createReadOnlyRole(client, role, password);
  return { client, url, host: url.hostname, port: Number(url.port), dbname: url.pathname.slice(1), role, password };
}

/** Registers an aurora connection for a catalog database with the password in an environment variable. */
export async function registerConnection(api: TestApp, database: string, db: { host: string; port: number; dbname: string; role: string; password: string }, extra: Record<string, unknown> = {}) {
  const env = `CUSTOS_DQ_${database.toUpperCase()}_${randomBytes(3).toString('hex').toUpperCase()}`;
  process.env[env] = db.password;
  return create(api, '/v1/data-quality-connections', {
    name: `${database}-pg`,
    store: 'aurora',
    database,
    settings: { host: db.host, port: db.port, dbname: db.dbname, username: db.role, credential: { env }, tls: false, sample_size: 5, ...extra },
  });
}

/** Copies the demo catalog's aurora/wealth assets under another catalog database name (the clean twin). */
export async function copyWealthAssets(api: TestApp, database: string) {
  const assets = (await api.app.db('assets').where({ store: 'aurora', database: 'wealth' }).select('*')) as Array<Record<string, any>>;
  for (const asset of assets) {
    const columns = await api.app.db('asset_columns').where({ asset_id: asset.id }).orderBy('position').select('name', 'data_type', 'classification', 'pii_type', 'masking_rule');
    await create(api, '/v1/assets', {
      store: 'aurora',
      database,
      table: asset.table_name,
      domain: asset.domain,
      columns: columns.map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== null))),
    });
  }
}

export async function assetId(api: TestApp, database: string, table: string): Promise<string> {
  return (await api.app.db('assets').where({ store: 'aurora', database, table_name: table }).first('id')).id;
}

/** The demo rules on a catalog database; returns them by name. */
export async function createDemoRules(api: TestApp, database: string): Promise<Record<string, any>> {
  const rules: Record<string, any> = {};
  for (const { table, ...rule } of demoRules()) {
    rules[rule.name] = await create(api, '/v1/data-quality-rules', { asset_id: await assetId(api, database, table), ...rule }, 'steward');
  }
  return rules;
}

export async function loadCatalog(api: TestApp) {
  await loadDemoData(api.app.db);
}

/** Starts a run and waits for it to end; returns it with its results. */
export async function runAndWait(api: TestApp, url: string, body: unknown = {}, as: 'steward' | 'admin' | 'compliance_officer' = 'steward') {
  const started = await api.call('POST', url, { as, body });
  if (started.status !== 202) throw new Error(`POST ${url} → ${started.status} ${JSON.stringify(started.body)}`);
  return waitFor(async () => {
    const run = await api.call('GET', `/v1/data-quality-runs/${started.body.id}`, { as: 'auditor' });
    return ['complete', 'partial', 'failed'].includes(run.body.status) ? run.body : undefined;
  }, `data quality run ${started.body.id}`, 60_000);
}

export const resultOf = (run: { results: Array<{ rule_id: string }> }, rule: { id: string }) => run.results.find((r) => r.rule_id === rule.id) as Record<string, any>;
