/**
 * `npm run bench:access:floor`: what this machine can serve at most for one access decision
 * logged durably, whatever the web framework: a bare `node:http` server, with no authentication,
 * validation, hooks or problem handling, that reads the check, evaluates it in the policy threads
 * (as Custos does: never on the event loop) and answers, in three variants measured in turn:
 *
 * - `no log`: nothing is written (what OPA's server does);
 * - `round trip per group`: each request waits for a `SELECT 1` to PostgreSQL, shared by every
 *   request that arrived while the previous one was in flight (the decision log's grouping, with
 *   nothing inserted): the cost of waiting for the database at all;
 * - `durable log`: each decision is committed to `decision_log` by the writer Custos uses
 *   (src/policy/decision-log.ts) before it is answered.
 *
 * Same load as `npm run bench:access` (autocannon in its own process, 10 connections, the cheap
 * deny: an unknown table), same embedded PostgreSQL and bundle. It answers whether a target of
 * `bench:access` can be met here at all: Custos can only be slower than the variant that does what
 * it must do (the durable log). The answers are checked against Custos's own route first.
 *
 * BENCH_SECONDS (default 10) per figure, after a 3 s warm-up.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { isDeepStrictEqual } from 'node:util';
import { v7 as uuidv7 } from 'uuid';
import { buildApp } from '../src/app.js';
import { loadDemoData } from '../src/demo/load.js';
import { DecisionLogWriter } from '../src/policy/decision-log.js';
import { ACCESS_DECISION } from '../src/policy/entrypoints.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const run = promisify(execFile);
const fail = (message: string): never => {
  console.error(`bench:access:floor: ${message}`);
  process.exit(1);
};

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'custos-floor-'));
await fs.chmod(dataDir, 0o755);
const adminKey = 'bench-admin-key-000000000000000';
const app = await buildApp({ config: { dataDir, logLevel: 'silent', adminKey }, announce: () => {}, workers: false });
await loadDemoData(app.db);
const principal = 'arn:aws:iam::111122223333:role/team-7';
await app.db('principals').insert({ id: uuidv7(), arn: principal, name: 'team-7', kind: 'pipeline', team: 'team-7', domain: 'Client' });
await app.policy.reloadAccessData();
const { engine, bundleId } = app.policy.current();

/** One `SELECT 1` in flight at a time; whoever arrives meanwhile waits for the next, together. */
class GroupedRoundTrip {
  private inFlight: Promise<unknown> | undefined;
  private next: Promise<unknown> | undefined;
  wait(): Promise<unknown> {
    if (!this.inFlight) return (this.inFlight = app.db.raw('SELECT 1').finally(() => (this.inFlight = undefined)));
    return (this.next ??= this.inFlight.then(() => {
      this.next = undefined;
      return this.wait();
    }));
  }
}
const roundTrip = new GroupedRoundTrip();
const writer = new DecisionLogWriter(app.db);
type Variant = 'no log' | 'round trip per group' | 'durable log';
let variant: Variant = 'no log';

const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', async () => {
    const check = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
    const now = Math.floor(Date.now() / 1000);
    const input = { ...check, now };
    const [outcome] = await engine.evaluateMany(ACCESS_DECISION, [input]);
    const answer = outcome && !('error' in outcome) ? outcome.result : undefined;
    const id = uuidv7();
    if (variant === 'round trip per group') await roundTrip.wait();
    if (variant === 'durable log') {
      const row = { id, entrypoint: ACCESS_DECISION, input: JSON.stringify(input), result: JSON.stringify(answer), defined: true, error: null, bundle_id: bundleId, bundle_revision: engine.revision, actor: 'bench', actor_key_id: null, role: 'pipeline', request_id: null, duration_ms: 0 };
      await writer.write([row]);
    }
    const body = JSON.stringify({ ...(answer as object), decision_id: id, bundle_revision: engine.revision });
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
const check = { principal, action: 'select', resource: { store: 'aurora', database: 'wealth', table: 'no_such_table' }, purpose: 'kyc-review' };

// The floor must give Custos's answer, or it measures something else.
const key = (await app.inject({ method: 'POST', url: '/v1/api-keys', headers: { authorization: `Bearer ${adminKey}` }, payload: { role: 'pipeline', name: 'floor' } })).json().key as string;
const custos = (await app.inject({ method: 'POST', url: '/v1/access/decisions', headers: { authorization: `Bearer ${key}` }, payload: check })).json();
const floor = (await (await fetch(url, { method: 'POST', body: JSON.stringify(check) })).json()) as Record<string, unknown>;
const strip = ({ decision_id: _id, bundle_revision: _revision, ...rest }: Record<string, unknown>) => rest;
if (custos.reasons?.[0]?.code !== 'unknown_table' || !isDeepStrictEqual(strip(custos), strip(floor))) fail(`the floor answers ${JSON.stringify(floor)}, Custos ${JSON.stringify(custos)}`);

async function load(duration: number) {
  const job = JSON.stringify({ url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(check), seconds: duration, connections: 10 });
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/access/load.ts', job], { encoding: 'utf8' });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { rps: number; total: number; p99: number; non2xx: number; errors: number };
}

console.log(`Access decision floor — a bare node:http server, the cheap deny, ${os.cpus().length} CPUs (load average ${os.loadavg()[0]!.toFixed(1)} at start), 10 connections, ${seconds} s per figure after a 3 s warm-up\n`);
for (const v of ['no log', 'round trip per group', 'durable log'] as const) {
  variant = v;
  await load(3);
  const before = { ...writer.stats };
  const r = await load(seconds);
  if (r.non2xx || r.errors) fail(`${v}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  const commits = writer.stats.commits - before.commits;
  const rows = writer.stats.rows - before.rows;
  if (v === 'durable log' && rows < r.total) fail(`${r.total} answers but ${rows} rows written`);
  console.log(`  ${v.padEnd(22)} ${Math.round(r.rps).toString().padStart(6)}/s p99 ${r.p99.toFixed(1).padStart(5)} ms${v === 'durable log' ? `  (${(rows / Math.max(1, commits)).toFixed(1)} decisions per commit)` : ''}`);
}
server.close();
await app.close();
await fs.rm(dataDir, { recursive: true, force: true });
process.exit(0);
