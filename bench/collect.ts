/**
 * `npm run bench:collect`: an AWS Organization generated in moto (BENCH_ACCOUNTS member accounts,
 * default 50, × BENCH_REGIONS regions, default 4), registered as an organization source, synced
 * (one source per account and region) and collected with every collector, twice on one embedded
 * PostgreSQL (a fresh database each time): by ONE Custos instance, then by THREE instances (separate
 * processes, `src/server.ts` as `npm start` runs it) taking the run's units (source × service) from
 * the same queue. Prints the wall time of each run (from the request to the run's end), units per
 * second, the ratio, and each run's resources and gaps (those of what moto lacks, by operation).
 * BENCH_CONCURRENCY sets CUSTOS_COLLECTION_CONCURRENCY of every instance (default 4).
 *
 * The figure means something only on a quiet machine: on 2 busy cores, three instances compete for
 * the same CPUs as moto and PostgreSQL.
 */
// First: it silences the AWS SDK's Node version notice, as the service does (src/config.ts).
import '../src/config.js';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { CreateAccountCommand, CreateOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { freePort, startEmbeddedPostgres } from '../src/db/embedded.js';
import { MOTO_ACCOUNT, motoClient } from '../src/demo/aws-estate.js';
import { COLLECTORS } from '../src/sources/collectors/index.js';
import { startInstance, stopInstance, type Instance } from '../test/helpers/instances.js';

const accounts = Number(process.env.BENCH_ACCOUNTS ?? 50);
const regionCount = Number(process.env.BENCH_REGIONS ?? 4);
const concurrency = process.env.BENCH_CONCURRENCY ?? '4';
const regions = ['us-east-1', 'eu-west-1', 'eu-central-1', 'us-west-2', 'ap-southeast-1', 'eu-west-2'].slice(0, regionCount);
const services = Object.keys(COLLECTORS);
const ADMIN_KEY = 'bench-admin-key-Xq7vR2mLk9PzT4wYb8Nc';

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

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'custos-bench-collect-'));
await fs.chmod(root, 0o755);
const cluster = await startEmbeddedPostgres(path.join(root, 'pg'), () => {}, { runtimeDir: process.env.CUSTOS_PG_RUNTIME_DIR });
const instances: Instance[] = [];
try {
  const started = performance.now();
  const org = new OrganizationsClient(motoClient(endpoint));
  await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  for (let i = 0; i < accounts; i++) await org.send(new CreateAccountCommand({ AccountName: `member-${i}`, Email: `member-${i}@bank.example` }));
  org.destroy();
  console.log(`Custos collection benchmark — an organization of ${accounts} member accounts and its management account (${MOTO_ACCOUNT}) × ${regions.length} regions in moto (created in ${((performance.now() - started) / 1000).toFixed(1)} s), ${services.length} collectors, ${concurrency} units at once per instance, ${os.cpus().length} CPUs\n`);

  /** One measurement: a fresh database, `count` instances on it, the organization synced, one run over every source. */
  const measure = async (count: number) => {
    const name = `bench_${count}`;
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const env = async () => ({
      DATABASE_URL: cluster.url.replace(/\/custos$/, `/${name}`),
      CUSTOS_DATA_DIR: await fs.mkdtemp(path.join(root, 'instance-')),
      CUSTOS_ADMIN_KEY: ADMIN_KEY,
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      CUSTOS_AWS_MAX_ATTEMPTS: '2',
      CUSTOS_COLLECTION_CONCURRENCY: concurrency,
      CUSTOS_POLICY_WORKERS: '1',
    });
    // The first migrates the new database; the others then start together.
    const mine = [await startInstance(await env())];
    instances.push(mine[0]!);
    const others = await Promise.all(Array.from({ length: count - 1 }, async () => startInstance(await env())));
    mine.push(...others);
    instances.push(...others);
    const call = async (method: string, url: string, body?: object) => {
      const response = await mine[0]!.call(method, url, ADMIN_KEY, body);
      if (response.status >= 300) throw new Error(`${method} ${url} → ${response.status} ${JSON.stringify(response.body)}`);
      return response.body;
    };
    const created = await call('POST', '/v1/organizations', { name: 'bench', management_account_id: MOTO_ACCOUNT, member_role_name: 'CustosCollector', regions, services });
    const sync = await call('POST', `/v1/organizations/${created.id}/sync`);
    const t0 = performance.now();
    const queued = await call('POST', '/v1/collections', {});
    let run;
    for (;;) {
      run = await call('GET', `/v1/collections/${queued.id}`);
      if (['complete', 'partial', 'failed'].includes(run.status)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (performance.now() - t0) / 1000;
    const resources = Object.values(run.counts as Record<string, { resources: number }>).reduce((n, c) => n + c.resources, 0);
    const units = run.progress.total as number;
    console.log(`${count === 1 ? 'one instance' : `${count} instances`}: ${sync.sources.created.length} sources, ${units} units (source × service) in ${seconds.toFixed(1)} s (${(units / seconds).toFixed(1)} units/s), run ${run.status}, ${resources} resources, ${run.gaps.length} gaps, ${run.progress.retried} units retried, ${run.progress.failed} failed`);
    await Promise.all(mine.map((instance) => stopInstance(instance)));
    return { seconds, gaps: run.gaps as string[] };
  };

  const one = await measure(1);
  // moto lacks some operations (see test/sources/collectors.test.ts): their gaps, by operation.
  const byOperation = new Map<string, number>();
  for (const gap of one.gaps) {
    const operation = /^[^:]+: ([a-z0-9-]+:[A-Za-z]+)/.exec(gap)?.[1] ?? gap.slice(0, 80);
    byOperation.set(operation, (byOperation.get(operation) ?? 0) + 1);
  }
  for (const [operation, n] of [...byOperation].sort()) console.log(`  gap ${operation}: ${n} units`);
  const three = await measure(3);
  console.log(`\nratio: one instance / three instances = ${(one.seconds / three.seconds).toFixed(2)}× (wall time ${one.seconds.toFixed(1)} s / ${three.seconds.toFixed(1)} s)`);
} finally {
  await Promise.all(instances.map((instance) => stopInstance(instance)));
  await cluster.stop();
  moto.kill('SIGTERM');
  await fs.rm(root, { recursive: true, force: true });
}
