/**
 * `npm run bench:access`: the headline number. POST /v1/access/decisions on the demo catalog with
 * 200 grants (autocannon over loopback), the same decision in-process, and the same Rego with the
 * same data and input through a stock OPA server (`opa run --server`), side by side.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { v7 as uuidv7 } from 'uuid';
import { buildApp } from '../src/app.js';
import { loadAccessData } from '../src/access/runtime.js';
import { freePort } from '../src/db/embedded.js';
import { loadDemoData } from '../src/demo/load.js';
import { ACCESS_DECISION } from '../src/policy/entrypoints.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = 10;
const PRINCIPAL = 'arn:aws:iam::111122223333:role/team-7';
const check = { principal: PRINCIPAL, action: 'select', resource: { store: 'aurora', database: 'wealth', table: 'clients', columns: ['client_id', 'first_name', 'ssn'] }, purpose: 'kyc-review' };

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (ms: number) => (ms < 1 ? ms.toFixed(3) : ms.toFixed(2));
const row = (name: string, rps: number, p50: number, p99: number, p999: number) =>
  console.log(`  ${name.padEnd(34)} ${Math.round(rps).toString().padStart(7)} /s   p50 ${fmt(p50)} ms   p99 ${fmt(p99)} ms   p99.9 ${fmt(p999)} ms`);

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'custos-bench-'));
await fs.chmod(dataDir, 0o755);
const adminKey = 'bench-admin-key-000000000000000';
const app = await buildApp({ config: { dataDir, logLevel: 'silent', adminKey }, announce: () => {}, workers: false });
let opaServer: ReturnType<typeof spawn> | undefined;
try {
  await loadDemoData(app.db);
  // 200 principals, each with a grant on a demo table: the 200 grants of the scenario.
  const tables = (await app.db('assets').select('store', 'database', 'table_name', 'domain').where({ store: 'aurora' })).slice(0, 20);
  for (let i = 0; i < 200; i++) {
    const arn = `arn:aws:iam::111122223333:role/team-${i}`;
    await app.db('principals').insert({ id: uuidv7(), arn, name: `team-${i}`, kind: 'pipeline', team: `team-${i}`, domain: i % 2 ? 'Client' : 'Investment' });
    const t = tables[i % tables.length]!;
    const requestId = uuidv7();
    const grant = { principal: arn, scope: 'table', store: t.store, database: t.database, table_name: t.table_name, columns: JSON.stringify(i === 7 ? ['ssn', 'first_name'] : []), permissions: JSON.stringify(['SELECT']), purpose: 'kyc-review' };
    await app.db('access_requests').insert({ id: requestId, requester: 'bench', requester_subject: 'bench', duration_days: 30, status: 'approved', ...grant });
    await app.db('access_grants').insert({ id: uuidv7(), request_id: requestId, starts_at: new Date(), expires_at: new Date(Date.now() + 86_400_000), status: 'active', ...grant, table_name: i === 7 ? 'clients' : t.table_name });
  }
  await app.policy.reloadAccessData();
  const { engine } = app.policy.current();
  const now = Math.floor(Date.now() / 1000);
  const sample = engine.evaluate(ACCESS_DECISION, { ...check, now }).result as { decision: string; obligations: unknown };
  console.log(`Custos access benchmark — ${os.cpus().length} CPUs, ${seconds} s per figure, ${connections} connections; decision: ${sample.decision} ${JSON.stringify(sample.obligations)}\n`);

  // In-process: the engine call alone.
  const times: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const started = performance.now();
    engine.evaluate(ACCESS_DECISION, { ...check, now });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  row('Custos in-process engine call', times.length / seconds, percentile(times, 50), percentile(times, 99), percentile(times, 99.9));

  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const key = (await app.inject({ method: 'POST', url: '/v1/api-keys', headers: { authorization: `Bearer ${adminKey}` }, payload: { role: 'pipeline', name: 'bench' } })).json().key;
  const custos = await autocannon({
    url: `${address}/v1/access/decisions`, method: 'POST', connections, duration: seconds,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(check),
  });
  if (custos.non2xx) console.log(`  (${custos.non2xx} non-2xx answers)`);
  row('Custos POST /v1/access/decisions', custos.requests.average, custos.latency.p50, custos.latency.p99, custos.latency.p99_9 ?? custos.latency.p99);

  let opa: string | undefined;
  try {
    opa = process.env.OPA ?? execFileSync('bash', ['scripts/install-opa.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    console.log('\n  OPA server: skipped (no OPA CLI; npm run tools:opa)');
  }
  if (opa) {
    const data = path.join(dataDir, 'opa-data.json');
    await fs.writeFile(data, JSON.stringify({ custos: { runtime: await loadAccessData(app.db) } }));
    const port = await freePort();
    opaServer = spawn(opa, ['run', '--server', '--addr', `127.0.0.1:${port}`, '--log-level', 'error', path.resolve('rego/custos/lib'), path.resolve('rego/custos/access/decision.rego'), data], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const opaResult = await autocannon({
      url: `http://127.0.0.1:${port}/v1/data/custos/access/decision`, method: 'POST', connections, duration: seconds,
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: { ...check, now } }),
    });
    row('OPA server POST /v1/data/...', opaResult.requests.average, opaResult.latency.p50, opaResult.latency.p99, opaResult.latency.p99_9 ?? opaResult.latency.p99);
    console.log(`\n  Custos / OPA server: throughput ${(custos.requests.average / opaResult.requests.average).toFixed(2)}x, p99 ${(custos.latency.p99 / opaResult.latency.p99).toFixed(2)}x (Custos also authenticates and logs every decision)`);
  }
} finally {
  opaServer?.kill();
  await app.close();
  await fs.rm(dataDir, { recursive: true, force: true });
}
