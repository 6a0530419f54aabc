/**
 * `npm run bench:collect`: an AWS Organization generated in moto (BENCH_ACCOUNTS member accounts,
 * default 50, × BENCH_REGIONS regions, default 4), registered as an organization source, synced
 * (one source per account and region) and collected by ONE Custos instance with every collector.
 * Prints the wall time of the sync and of the collection run, the units (account, region,
 * service) per second, and the run's resources and gaps.
 *
 * Not measured: several instances on the same PostgreSQL. A collection run is still one job that
 * one instance executes unit after unit (src/sources/collections.ts executeRun); spreading the units
 * over instances is not built yet, so there is no three-instance figure to print.
 */
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CreateAccountCommand, CreateOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { buildApp } from '../src/app.js';
import { freePort } from '../src/db/embedded.js';
import { MOTO_ACCOUNT, motoClient } from '../src/demo/aws-estate.js';
import { createRun, executeRun } from '../src/sources/collections.js';
import { COLLECTORS } from '../src/sources/collectors/index.js';

const accounts = Number(process.env.BENCH_ACCOUNTS ?? 50);
const regionCount = Number(process.env.BENCH_REGIONS ?? 4);
const regions = ['us-east-1', 'eu-west-1', 'eu-central-1', 'us-west-2', 'ap-southeast-1', 'eu-west-2'].slice(0, regionCount);
const services = Object.keys(COLLECTORS);

const which = (command: string) => {
  try {
    return execFileSync('which', [command], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
};
const motoServer = process.env.MOTO_SERVER ?? which('moto_server');
if (!motoServer) {
  console.error("moto_server is not installed: npm run tools:moto (pip install 'moto[server]')");
  process.exit(1);
}
const endpoint = `http://127.0.0.1:${await freePort()}`;
const moto = spawn(motoServer, ['-H', '127.0.0.1', '-p', new URL(endpoint).port], { stdio: 'ignore' });
process.on('exit', () => moto.kill('SIGTERM'));
for (let i = 0; ; i++) {
  if (await fetch(`${endpoint}/moto-api/`).then((r) => r.ok, () => false)) break;
  if (moto.exitCode !== null || i > 300) throw new Error(`moto_server did not answer on ${endpoint}`);
  await new Promise((r) => setTimeout(r, 100));
}
process.env.AWS_ACCESS_KEY_ID = 'bench';
process.env.AWS_SECRET_ACCESS_KEY = 'bench';
process.env.AWS_REGION = 'us-east-1';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'custos-bench-collect-'));
await fs.chmod(dataDir, 0o755);
const app = await buildApp({ config: { dataDir, logLevel: 'silent', adminKey: 'bench-admin-key-000000000000000', awsEndpointUrl: endpoint, awsMaxAttempts: 2 }, announce: () => {}, workers: false });
try {
  let started = performance.now();
  const org = new OrganizationsClient(motoClient(endpoint));
  await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  for (let i = 0; i < accounts; i++) await org.send(new CreateAccountCommand({ AccountName: `member-${i}`, Email: `member-${i}@bank.example` }));
  org.destroy();
  console.log(`Custos collection benchmark — an organization of ${accounts} member accounts and its management account (${MOTO_ACCOUNT}) × ${regions.length} regions in moto (created in ${((performance.now() - started) / 1000).toFixed(1)} s), ${services.length} collectors, ${os.cpus().length} CPUs\n`);

  const call = async (method: 'POST', url: string, body?: object) => {
    const response = await app.inject({ method, url, headers: { authorization: 'Bearer bench-admin-key-000000000000000' }, ...(body ? { payload: body } : {}) });
    if (response.statusCode >= 300) throw new Error(`${method} ${url} → ${response.statusCode} ${response.body}`);
    return response.json();
  };
  const created = await call('POST', '/v1/organizations', { name: 'bench', management_account_id: MOTO_ACCOUNT, member_role_name: 'CustosCollector', regions, services });
  started = performance.now();
  const sync = await call('POST', `/v1/organizations/${created.id}/sync`);
  console.log(`sync: ${sync.accounts.length} accounts listed, ${sync.sources.created.length} sources created in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const context = { actor: 'bench', actorKeyId: null, role: 'admin' };
  const run = await app.db.transaction((trx) => createRun(trx, { trigger: 'api', context }));
  const units = sync.sources.created.length * services.length;
  started = performance.now();
  const finished = await executeRun(app.db, run.id, { endpoint, maxAttempts: 2 });
  const seconds = (performance.now() - started) / 1000;
  const counts = Object.values((finished?.counts ?? {}) as Record<string, { resources: number }>).reduce((n, c) => n + c.resources, 0);
  console.log(`one instance: ${units} units (source × service) in ${seconds.toFixed(1)} s (${(units / seconds).toFixed(1)} units/s), run ${finished?.status}, ${counts} resources, ${(finished?.gaps as string[] | undefined)?.length ?? 0} gaps`);
  // moto lacks some operations (see test/sources/collectors.test.ts): their gaps, by operation.
  const byOperation = new Map<string, number>();
  for (const gap of (finished?.gaps as string[] | undefined) ?? []) {
    const operation = /^[^:]+: ([a-z0-9-]+:[A-Za-z]+)/.exec(gap)?.[1] ?? gap.slice(0, 80);
    byOperation.set(operation, (byOperation.get(operation) ?? 0) + 1);
  }
  for (const [operation, n] of [...byOperation].sort()) console.log(`  gap ${operation}: ${n} units`);
  console.log('three instances: not measured (collection units are not spread over instances yet)');
} finally {
  await app.close();
  moto.kill('SIGTERM');
  await fs.rm(dataDir, { recursive: true, force: true });
}
