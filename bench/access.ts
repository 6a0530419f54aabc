/**
 * `npm run bench:access`: Custos's access decisions against a stock OPA server on the same Rego and
 * the same data, path by path, each in its own process: the Custos server (bench/access/server.ts),
 * `opa run --server`, and the load generator (bench/access/load.ts, autocannon). Before any timing,
 * both answer each path and the answers must be equal; each side is warmed up. Custos logs every
 * decision durably before answering; OPA logs nothing. Fails loudly without OPA or on disagreement.
 *
 * Besides requests per second, each path prints the CPU time one decision costs each process
 * (/proc, Linux): Custos's event loop, its other threads (policy workers, GC), its PostgreSQL, and
 * OPA. On a machine shared with other work those are steadier than throughput.
 *
 * BENCH_SECONDS (default 10) per figure; BENCH_PATHS (comma-separated words, e.g. `allow,cheap`)
 * runs only the paths whose names contain one; BENCH_PROFILE=<dir> writes a CPU profile of
 * Custos's event loop during each path's measured run into <dir> and prints where its time went
 * (bench/access/profile.ts).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import fs from 'node:fs';
import pg from 'pg';
import { freePort } from '../src/db/embedded.js';
import { cpuBetween, sampleCpu } from './access/cpu.js';
import { describeBreakdown, type CpuProfile } from './access/profile.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const only = process.env.BENCH_PATHS?.split(',').map((word) => word.trim()).filter(Boolean);
const profileDir = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;
if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
const warmup = Math.min(3, seconds);
const connections = 10;
const children: ChildProcess[] = [];
const killAll = () => children.forEach((c) => c.exitCode === null && c.kill('SIGTERM'));
process.on('exit', killAll);
process.on('SIGINT', () => process.exit(130));

function fail(message: string): never {
  console.error(`bench:access: ${message}`);
  process.exit(1);
}

const tsx = ['--import', 'tsx'];
async function startCustos() {
  const child = spawn(process.execPath, [...tsx, 'bench/access/server.ts'], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  // The server's lines on stdout: the first says where it listens, later ones answer commands.
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`the Custos bench server exited (${code})`))));
  exited.catch(() => {}); // awaited only while waiting for a line
  const nextLine = async () => {
    const { value, done } = await Promise.race([lines.next(), exited]);
    if (done) throw new Error('the Custos bench server closed its output');
    return value as string;
  };
  const started = JSON.parse(await nextLine()) as { url: string; key: string; databaseUrl: string; opaData: string; pid: number };
  const command = async (line: string, answer: string) => {
    child.stdin!.write(line + '\n');
    if ((await nextLine()) !== answer) fail(`the Custos bench server did not answer ${answer}`);
  };
  const logStats = async () => {
    child.stdin!.write('log-stats\n');
    return JSON.parse(await nextLine()) as { commits: number; rows: number };
  };
  return { ...started, command, logStats };
}

function load(url: string, headers: Record<string, string>, body: unknown, duration: number) {
  const job = JSON.stringify({ url, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), seconds: duration, connections });
  const out = execFileSync(process.execPath, [...tsx, 'bench/access/load.ts', job], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as { rps: number; total: number; p50: number; p99: number; p999: number; non2xx: number; errors: number; timeouts: number; cpuUs: number };
}

async function post(url: string, headers: Record<string, string>, body: unknown) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  if (!response.ok) fail(`${url} answered ${response.status}: ${await response.text()}`);
  return response.json() as Promise<any>;
}

const principal = (n: number) => `arn:aws:iam::111122223333:role/team-${n}`;
const clients = (columns: string[]) => ({ store: 'aurora', database: 'wealth', table: 'clients', columns });
// Each path with what its answer must look like, so a change in the demo catalog cannot silently
// turn one path into another.
const allPaths = [
  { name: 'allow', check: { principal: principal(7), action: 'select', resource: clients(['client_id', 'first_name', 'ssn']), purpose: 'kyc-review' }, expect: (a: any) => a.decision === 'allow' && Object.keys(a.obligations.mask).length === 0 },
  { name: 'masked allow', check: { principal: principal(7), action: 'select', resource: clients(['client_id', 'first_name', 'ssn']), purpose: 'marketing' }, expect: (a: any) => a.decision === 'allow' && Object.keys(a.obligations.mask).length > 0 },
  { name: 'deny (needs the grants)', check: { principal: principal(9), action: 'select', resource: clients(['first_name', 'last_name']), purpose: 'kyc-review' }, expect: (a: any) => a.decision === 'deny' && a.reasons.some((r: any) => r.code === 'no_grant') },
  { name: 'cheap deny (unknown table)', check: { principal: principal(7), action: 'select', resource: { store: 'aurora', database: 'wealth', table: 'no_such_table' }, purpose: 'kyc-review' }, expect: (a: any) => a.decision === 'deny' && a.reasons[0]?.code === 'unknown_table' },
];
const paths = only ? allPaths.filter((p) => only.some((word) => p.name.includes(word))) : allPaths;
if (paths.length === 0) fail(`BENCH_PATHS=${process.env.BENCH_PATHS} names none of the paths: ${allPaths.map((p) => p.name).join(', ')}`);

let opa: string;
try {
  opa = process.env.OPA ?? execFileSync('bash', ['scripts/install-opa.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {
  fail('the OPA CLI is missing (npm run tools:opa needs Go); the comparison cannot run');
}

const custos = await startCustos();
const client = new pg.Client({ connectionString: custos.databaseUrl });
await client.connect();
const countLogged = async () => Number((await client.query('SELECT count(*) AS n FROM decision_log')).rows[0].n);
const auth = { authorization: `Bearer ${custos.key}` };
const opaPort = await freePort();
const opaServer = spawn(opa, ['run', '--server', '--addr', `127.0.0.1:${opaPort}`, '--log-level', 'error', path.resolve('rego/custos/lib'), path.resolve('rego/custos/access/decision.rego'), custos.opaData], { stdio: 'ignore' });
children.push(opaServer);
for (let i = 0; ; i++) {
  if (await fetch(`http://127.0.0.1:${opaPort}/health`).then((r) => r.ok, () => false)) break;
  if (i === 100) fail('the OPA server did not start');
  await new Promise((r) => setTimeout(r, 100));
}
const opaUrl = `http://127.0.0.1:${opaPort}/v1/data/custos/access/decision`;
const now = Math.floor(Date.now() / 1000);

console.log(`Custos access decisions vs a stock OPA server — ${os.cpus().length} CPUs (load average ${os.loadavg()[0]!.toFixed(1)} at start), ${connections} connections, ${seconds} s per figure after ${warmup} s warm-up; Custos logs every decision durably, OPA logs nothing\n`);
const fmt = (n: number) => n.toFixed(n < 10 ? 2 : 1);
const us = (n: number | undefined) => (n === undefined ? '  n/a' : Math.round(n).toString().padStart(5));

/** One measured run against a server, with the CPU each process spent per request meanwhile. */
function measure(server: 'custos' | 'opa', url: string, headers: Record<string, string>, body: unknown) {
  const pid = server === 'custos' ? custos.pid : opaServer.pid!;
  const before = sampleCpu(pid);
  const result = load(url, headers, body, seconds);
  const cpu = cpuBetween(before, sampleCpu(pid));
  const per = (n: number) => n / Math.max(1, result.total);
  return { ...result, cpu: cpu && { main: per(cpu.main), threads: per(cpu.threads), children: per(cpu.children), load: per(result.cpuUs) } };
}
const results: Array<{ name: string; custos: ReturnType<typeof load>; opa: ReturnType<typeof load> }> = [];
for (const p of paths) {
  const mine = await post(`${custos.url}/v1/access/decisions`, auth, p.check);
  const theirs = (await post(opaUrl, {}, { input: { ...p.check, now } })).result;
  const { decision_id: _id, bundle_revision: _rev, ...answer } = mine;
  if (!p.expect(answer)) fail(`path "${p.name}": Custos answered ${JSON.stringify(answer)}, which is not this path`);
  if (!isDeepStrictEqual(answer, { ...theirs, obligations: { mask: theirs.obligations.mask } })) fail(`path "${p.name}": Custos and OPA disagree\n  Custos: ${JSON.stringify(answer)}\n  OPA:    ${JSON.stringify(theirs)}`);
  load(`${custos.url}/v1/access/decisions`, auth, p.check, warmup);
  const profileFile = profileDir && path.join(profileDir, `${p.name.replace(/\W+/g, '-').replace(/-$/, '')}.cpuprofile`);
  if (profileFile) await custos.command('profile-start', 'profiling');
  const logged = await custos.logStats();
  const inDatabase = await countLogged();
  const c = measure('custos', `${custos.url}/v1/access/decisions`, auth, p.check);
  const logging = await custos.logStats();
  const addedInDatabase = (await countLogged()) - inDatabase;
  if (profileFile) await custos.command(`profile-stop ${profileFile}`, 'profiled');
  load(opaUrl, {}, { input: { ...p.check, now } }, warmup);
  const o = measure('opa', opaUrl, {}, { input: { ...p.check, now } });
  if (c.non2xx || c.errors || o.non2xx || o.errors) fail(`path "${p.name}": errors under load (Custos ${c.non2xx} non-2xx, ${c.errors} errors; OPA ${o.non2xx}, ${o.errors})`);
  results.push({ name: p.name, custos: c, opa: o });
  console.log(
    `  ${p.name.padEnd(28)} Custos ${Math.round(c.rps).toString().padStart(6)}/s p99 ${fmt(c.p99).padStart(5)} ms | OPA ${Math.round(o.rps).toString().padStart(6)}/s p99 ${fmt(o.p99).padStart(5)} ms | ratio ${(c.rps / o.rps).toFixed(2)}x`,
  );
  if (c.cpu && o.cpu) {
    console.log(
      `  ${''.padEnd(28)} CPU µs/decision: Custos ${us(c.cpu.main + c.cpu.threads + c.cpu.children)} (event loop ${us(c.cpu.main)}, other threads ${us(c.cpu.threads)}, PostgreSQL ${us(c.cpu.children)}) | OPA ${us(o.cpu.main + o.cpu.threads)} | load generator ${us(c.cpu.load)} vs ${us(o.cpu.load)}`,
    );
  }
  // Every answer waited for its row's commit: the table itself (not the writer's own count) must
  // hold at least as many new rows as autocannon received answers.
  const rows = logging.rows - logged.rows;
  if (addedInDatabase < c.total || rows !== addedInDatabase) fail(`path "${p.name}": ${c.total} decisions answered, ${addedInDatabase} new rows in decision_log, ${rows} written by the writer`);
  console.log(`  ${''.padEnd(28)} decision log: ${rows} rows in ${logging.commits - logged.commits} commits (${(rows / Math.max(1, logging.commits - logged.commits)).toFixed(1)} per commit)`);
  if (profileFile) {
    const profile = JSON.parse(fs.readFileSync(profileFile, 'utf8')) as CpuProfile;
    console.log(`  ${''.padEnd(28)} where the event loop's time went (${path.relative(process.cwd(), profileFile)}):`);
    for (const line of describeBreakdown(profile, c.cpu?.main)) console.log(`  ${''.padEnd(30)}${line}`);
  }
}

const batchSize = 100;
const batch = { checks: Array.from({ length: batchSize }, (_, i) => paths[i % paths.length]!.check) };
load(`${custos.url}/v1/access/decisions:batch`, auth, batch, warmup);
const beforeBatch = await countLogged();
const b = measure('custos', `${custos.url}/v1/access/decisions:batch`, auth, batch);
const batchLogged = (await countLogged()) - beforeBatch;
if (b.non2xx || b.errors) fail(`batch: ${b.non2xx} non-2xx, ${b.errors} errors`);
if (batchLogged < b.total * batchSize) fail(`batch: ${b.total * batchSize} decisions answered, ${batchLogged} new rows in decision_log`);

const worst = results.reduce((w, r) => (r.custos.rps < w.custos.rps ? r : w));
const slowestP99 = Math.max(...results.map((r) => r.custos.p99));
console.log(`\n  HTTP, single decisions: lowest ${Math.round(worst.custos.rps)}/s (${worst.name}), highest p99 ${fmt(slowestP99)} ms  [target ≥ 8000/s, p99 < 5 ms]`);
console.log(`  Ratio to OPA, lowest: ${Math.min(...results.map((r) => r.custos.rps / r.opa.rps)).toFixed(2)}x  [target ≥ 1.00x on every path]`);
console.log(`  Batch of ${batchSize}: ${Math.round(b.rps * batchSize)} decisions/s (${Math.round(b.rps)} requests/s, p99 ${fmt(b.p99)} ms)${b.cpu ? `, CPU µs/decision: event loop ${us(b.cpu.main / batchSize).trim()}, other threads ${us(b.cpu.threads / batchSize).trim()}, PostgreSQL ${us(b.cpu.children / batchSize).trim()}` : ''}`);

const { rows } = await client.query(`
  SELECT (SELECT count(*) FROM decision_log)::bigint AS decisions,
         coalesce((SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('decision_log')), pg_total_relation_size('decision_log'))::bigint AS bytes`);
await client.end();
const decisions = Number(rows[0].decisions);
const bytes = Number(rows[0].bytes);
console.log(`  Decision log: ${decisions} decisions logged, ${(bytes / 2 ** 20).toFixed(1)} MiB with indexes, ${((bytes / Math.max(1, decisions)) * 1e6 / 2 ** 30).toFixed(2)} GiB per million decisions`);
killAll();
process.exit(0);
