/**
 * The Custos side of `npm run bench:healthz`, in a process of its own: a fresh embedded PostgreSQL,
 * the demo catalog, the market-data principal, a pipeline and a compliance officer key. Prints one
 * JSON line (url, keys) once it listens, and stops on SIGTERM or when its parent goes. It measures
 * its own event loop's delay (monitorEventLoopDelay): a line `reset` on stdin starts a measurement,
 * `report` prints its maximum and p99 in ms as one JSON line, so the bench can tell a stalled event
 * loop from a probe slowed by a busy machine.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import readline from 'node:readline';
import { buildApp } from '../../src/app.js';
import { loadDemoData } from '../../src/demo/load.js';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'custos-bench-'));
await fs.chmod(dataDir, 0o755);
const adminKey = 'bench-healthz-admin-Qm4Zr8Tk2Wx6Pn9Ld3Vb';
const app = await buildApp({ config: { dataDir, logLevel: 'silent', adminKey }, announce: () => {}, workers: false });

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
process.stdin.on('end', () => void stop());
const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'reset') delay.reset();
  if (line === 'report') console.log(JSON.stringify({ max: delay.max / 1e6, p99: delay.percentile(99) / 1e6 }));
});

await loadDemoData(app.db);
const inject = async (method: 'POST', url: string, payload: object) => {
  const response = await app.inject({ method, url, payload, headers: { authorization: `Bearer ${adminKey}` } });
  if (response.statusCode >= 300) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
  return response.json();
};
await inject('POST', '/v1/principals', { arn: 'arn:aws:iam::111122223333:role/market-data', name: 'market-data', kind: 'service', team: 'investments' });
const keys: Record<string, string> = {};
for (const role of ['pipeline', 'compliance_officer']) keys[role] = (await inject('POST', '/v1/api-keys', { role, name: `bench-${role}` })).key;
const url = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(JSON.stringify({ url, keys }));
