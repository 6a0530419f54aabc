/**
 * The Custos side of `npm run bench:access`, in a process of its own: a fresh embedded PostgreSQL,
 * the demo catalog, 200 pipeline principals with a grant each, a pipeline key. Prints one JSON
 * line (url, key, database url, the OPA data file) once it listens, and stops on SIGTERM.
 */
import fs from 'node:fs/promises';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { v7 as uuidv7 } from 'uuid';
import { buildApp } from '../../src/app.js';
import { loadAccessData } from '../../src/access/runtime.js';
import { decisionLog } from '../../src/access/decisions.js';
import { loadDemoData } from '../../src/demo/load.js';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'custos-bench-'));
await fs.chmod(dataDir, 0o755);
const adminKey = 'bench-admin-key-000000000000000';
const app = await buildApp({ config: { dataDir, logLevel: 'silent', adminKey }, announce: () => {}, workers: false });

// The orchestrator's commands, one a line on stdin: `log-stats` (the decision log writer's commits
// and rows so far, as JSON), `profile-start`, then `profile-stop <file>`,
// which writes the CPU profile of this process's main thread (the event loop) between the two and
// answers `profiling` and `profiled` on stdout. bench/access.ts profiles each path's measured run this way
// (BENCH_PROFILE), without start-up, warm-up or the other side's turn.
const session = new inspector.Session();
const post = (method: string, params?: object) => new Promise<any>((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
let profiling = false;
async function command(line: string) {
  const [verb, file] = line.trim().split(' ', 2);
  if (verb === 'profile-start') {
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 100 });
    await post('Profiler.start');
    profiling = true;
    console.log('profiling');
  } else if (verb === 'log-stats') {
    console.log(JSON.stringify(decisionLog(app).stats));
  } else if (verb === 'profile-stop' && profiling) {
    profiling = false;
    await fs.writeFile(file!, JSON.stringify((await post('Profiler.stop')).profile));
    session.disconnect();
    console.log('profiled');
  }
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await app.close();
  await fs.rm(dataDir, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// The orchestrator's stdin closes when it exits, however it exits: stop with it.
process.stdin.on('end', () => void stop());
readline.createInterface({ input: process.stdin }).on('line', (line) => void command(line));

await loadDemoData(app.db);
// 200 principals, each with a grant on a demo table; team-7's grant names clients.ssn and first_name.
const tables = (await app.db('assets').select('store', 'database', 'table_name', 'domain').where({ store: 'aurora' })).slice(0, 20);
for (let i = 0; i < 200; i++) {
  const arn = `arn:aws:iam::111122223333:role/team-${i}`;
  await app.db('principals').insert({ id: uuidv7(), arn, name: `team-${i}`, kind: 'pipeline', team: `team-${i}`, domain: i % 2 ? 'Client' : 'Investment' });
  const t = tables[i % tables.length]!;
  const requestId = uuidv7();
  const grant = { principal: arn, scope: 'table', store: t.store, database: t.database, table_name: i === 7 ? 'clients' : t.table_name, columns: JSON.stringify(i === 7 ? ['ssn', 'first_name'] : []), permissions: JSON.stringify(['SELECT']), purpose: 'kyc-review' };
  await app.db('access_requests').insert({ id: requestId, requester: 'bench', requester_subject: 'bench', duration_days: 30, status: 'approved', ...grant });
  await app.db('access_grants').insert({ id: uuidv7(), request_id: requestId, starts_at: new Date(), expires_at: new Date(Date.now() + 86_400_000), status: 'active', ...grant });
}
await app.policy.reloadAccessData();

const opaData = path.join(dataDir, 'opa-data.json');
await fs.writeFile(opaData, JSON.stringify({ custos: { runtime: await loadAccessData(app.db) } }));
const url = await app.listen({ port: 0, host: '127.0.0.1' });
const key = (await app.inject({ method: 'POST', url: '/v1/api-keys', headers: { authorization: `Bearer ${adminKey}` }, payload: { role: 'pipeline', name: 'bench' } })).json().key as string;
const connection = app.db.client.config.connection as { connectionString?: string } | string;
console.log(JSON.stringify({ url, key, adminKey, opaData, databaseUrl: typeof connection === 'string' ? connection : connection.connectionString, pid: process.pid }));
