/**
 * The Custos side of `npm run bench:healthz`, in a process of its own: a fresh embedded PostgreSQL,
 * the demo catalog, the market-data principal, a pipeline and a compliance officer key. Prints one
 * JSON line (url, keys) once it listens, and stops on SIGTERM or when its parent goes.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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
process.stdin.resume();

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
