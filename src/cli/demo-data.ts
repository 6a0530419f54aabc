import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { createReadOnlyRole, createWealthData, DEMO_DQ_PASSWORD_ENV, demoDataQualityPassword, demoRules } from '../demo/wealth-data.js';

/**
 * `npm run demo:data`, beside a running `npm start -- --demo`: creates the `wealth` database with
 * seed 001's tables and planted defects on the demo's PostgreSQL, a read-only login for data
 * quality, registers the connection (admin) and the demo rules (as a steward), runs them through
 * the API and prints each result and the findings the failing ones opened. Idempotent: the data is
 * recreated, existing connection and rules are kept.
 */

const log = (line: string) => process.stdout.write(line + '\n');

async function main() {
  const config = loadConfig();
  const adminKey = config.adminKey ?? (await fs.readFile(path.join(config.dataDir, 'admin-key'), 'utf8').catch(() => '')).trim();
  if (!adminKey) throw new Error(`no admin key: set CUSTOS_ADMIN_KEY or start Custos once with CUSTOS_DATA_DIR=${config.dataDir}`);
  const host = ['0.0.0.0', '::'].includes(config.host) ? '127.0.0.1' : config.host;
  const api = process.env.CUSTOS_URL ?? `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;

  const call = async (method: string, url: string, body?: unknown, key = adminKey) => {
    const response = await fetch(`${api}${url}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const ready = await fetch(`${api}/readyz`).catch(() => undefined);
  if (!ready?.ok) throw new Error(`Custos does not answer on ${api}: start it first (npm start -- --demo), or set CUSTOS_URL`);

  // The wealth database on the same PostgreSQL server as Custos's own, made by its owner role (the
  // embedded superuser): the runtime role Custos runs as may not create databases.
  const database = await openDatabase({ databaseUrl: config.databaseUrl, migrationDatabaseUrl: config.migrationDatabaseUrl, dataDir: config.dataDir, pgRuntimeDir: config.pgRuntimeDir, existingOnly: true });
  const server = new URL(database.ownerUrl);
  await database.close();
  const admin = new pg.Client({ connectionString: server.toString() });
  await admin.connect();
  try {
    if ((await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'wealth'`)).rowCount === 0) await admin.query('CREATE DATABASE wealth');
  } finally {
    await admin.end();
  }
  const wealthUrl = new URL(server.toString());
  wealthUrl.pathname = '/wealth';
  const client = new pg.Client({ connectionString: wealthUrl.toString() });
  await client.connect();
  const password = process.env[DEMO_DQ_PASSWORD_ENV] ?? (await demoDataQualityPassword(config.dataDir));
  try {
    await createWealthData(client, { defects: true });
    await createReadOnlyRole(client, 'custos_dq_demo', password);
  } finally {
    await client.end();
  }
  log(`wealth database created on ${server.hostname}:${server.port} with planted defects; read-only login custos_dq_demo`);

  const connection = await call('POST', '/v1/data-quality-connections', {
    name: 'wealth-demo',
    store: 'aurora',
    database: 'wealth',
    settings: { host: server.hostname, port: Number(server.port), dbname: 'wealth', username: 'custos_dq_demo', credential: { env: DEMO_DQ_PASSWORD_ENV }, tls: false, statement_timeout_ms: 10_000 },
  });
  if (![201, 409].includes(connection.status)) throw new Error(`registering the connection: ${connection.status} ${JSON.stringify(connection.body)}`);

  const steward = await call('POST', '/v1/api-keys', { role: 'steward', name: `demo-data-steward-${Date.now()}` });
  if (steward.status !== 201) throw new Error(`creating a steward key: ${steward.status} ${JSON.stringify(steward.body)}`);
  const asSteward = (method: string, url: string, body?: unknown) => call(method, url, body, steward.body.key);

  const ruleIds: string[] = [];
  for (const { table, ...rule } of demoRules()) {
    const asset = await asSteward('GET', `/v1/assets?store=aurora&database=wealth&table=${table}`);
    const assetId = asset.body?.items?.[0]?.id;
    if (!assetId) throw new Error(`the demo catalog has no aurora/wealth asset ${table}: start Custos with --demo`);
    const created = await asSteward('POST', '/v1/data-quality-rules', { asset_id: assetId, ...rule });
    if (created.status === 201) ruleIds.push(created.body.id);
    else if (created.status === 409) {
      const existing = await asSteward('GET', `/v1/data-quality-rules?asset_id=${assetId}&limit=500`);
      ruleIds.push(existing.body.items.find((r: { name: string }) => r.name === rule.name).id);
    } else throw new Error(`creating rule ${rule.name}: ${created.status} ${JSON.stringify(created.body)}`);
  }

  // One run per domain that has rules: Client, Account, Investment.
  const runs: Array<Record<string, any>> = [];
  for (const domain of ['Client', 'Account', 'Investment']) {
    const started = await asSteward('POST', '/v1/data-quality-runs', { domain });
    if (started.status !== 202) throw new Error(`running ${domain}: ${started.status} ${JSON.stringify(started.body)}`);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const run = await asSteward('GET', `/v1/data-quality-runs/${started.body.id}`);
      if (['complete', 'partial', 'failed'].includes(run.body.status)) {
        runs.push(run.body);
        break;
      }
      if (Date.now() > deadline) throw new Error(`run ${started.body.id} did not finish within 2 minutes`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const names = new Map<string, string>();
  for (const run of runs) for (const id of run.rule_ids as string[]) names.set(id, (await asSteward('GET', `/v1/data-quality-rules/${id}`)).body.name);
  for (const run of runs) {
    log(`run ${run.id} (${run.scope.domain}): ${run.status}`);
    for (const r of run.results) {
      // Row-level rules: rows failing of rows checked; table-level ones (freshness, row_count): what was observed.
      const what = r.ratio === null ? JSON.stringify(r.observed) : `${r.rows_failing}/${r.rows_checked} (${(r.ratio * 100).toFixed(1)}%)`;
      log(`  ${r.status.padEnd(10)} ${names.get(r.rule_id)!.padEnd(30)} ${what}${r.samples.length ? ` e.g. ${JSON.stringify(r.samples[0])}` : ''}${r.error ? ` ${r.error}` : ''}`);
    }
  }
  const findings = await call('GET', '/v1/findings?rule=catalog.data_quality&status=open&limit=100');
  log(`open data quality findings: ${findings.body.items.length}`);
  for (const f of findings.body.items) log(`  [${f.severity}] ${f.msg}`);
  await call('DELETE', `/v1/api-keys/${steward.body.id}`);
}

main().catch((error) => {
  process.stderr.write(`custos demo:data: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
