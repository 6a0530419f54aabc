/**
 * `npm run bench:policy`: evaluations per second and p50/p99 latency of the compliance entrypoint,
 * in-process and through POST /v1/decisions (autocannon, HTTP on loopback), for a one-resource and
 * a 1,000-resource input. Figures, not pass/fail: compare runs on the same machine.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { buildApp } from '../src/app.js';
import { PolicyEngine } from '../src/policy/engine.js';
import { PolicyWorkers } from '../src/policy/workers.js';
import { COMPLIANCE_VIOLATIONS } from '../src/policy/entrypoints.js';
import type { PolicyInput } from '../src/policy/input.js';
import { shippedBundlePath } from '../src/policy/service.js';
import { ESTATE } from '../test/policy/fixtures.js';

function estateOf(size: number): PolicyInput {
  const resources = Array.from({ length: size }, (_, i) => {
    const template = ESTATE.resources[i % ESTATE.resources.length]!;
    return { ...template, id: `${template.id}-${i}` };
  });
  return { ...ESTATE, resources };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function inProcess(engine: PolicyEngine, input: PolicyInput, seconds: number) {
  const times: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const started = performance.now();
    await engine.evaluate(COMPLIANCE_VIOLATIONS, input);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { perSecond: times.length / seconds, p50: percentile(times, 50), p99: percentile(times, 99) };
}

const fmt = (n: number) => n.toFixed(n < 10 ? 2 : 0);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const workers = new PolicyWorkers({ threads: 1 });
const engine = await PolicyEngine.load(workers, readFileSync(shippedBundlePath()!));
const inputs: Array<[string, PolicyInput]> = [
  ['1 resource', { ...ESTATE, resources: ESTATE.resources.slice(0, 1) }],
  ['1,000 resources', estateOf(1000)],
];

console.log(`Custos policy benchmark — bundle ${engine.revision}, ${os.cpus().length} CPUs, ${seconds} s per figure\n`);
console.log('engine call, one at a time (custos/compliance/violations, in a worker thread)');
for (const [name, input] of inputs) {
  const r = await inProcess(engine, input, seconds);
  console.log(`  ${name.padEnd(16)} ${fmt(r.perSecond).padStart(8)} eval/s   p50 ${fmt(r.p50)} ms   p99 ${fmt(r.p99)} ms`);
}

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'custos-bench-'));
await fs.chmod(dataDir, 0o755);
const app = await buildApp({ config: { dataDir, logLevel: 'silent', adminKey: 'bench-admin-key-000000000000000' }, announce: () => {} });
try {
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const key = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: { authorization: 'Bearer bench-admin-key-000000000000000' }, payload: { role: 'pipeline', name: 'bench' } });
  const headers = { authorization: `Bearer ${key.json().key}`, 'content-type': 'application/json' };
  console.log('\nPOST /v1/decisions (HTTP, 10 connections, decision logged per request)');
  for (const [name, input] of inputs) {
    const result = await autocannon({ url: `${address}/v1/decisions`, method: 'POST', headers, body: JSON.stringify({ entrypoint: COMPLIANCE_VIOLATIONS, input }), connections: 10, duration: seconds });
    const errors = result.non2xx + result.errors;
    console.log(`  ${name.padEnd(16)} ${fmt(result.requests.average).padStart(8)} req/s    p50 ${result.latency.p50} ms   p99 ${result.latency.p99} ms${errors ? `   (${errors} errors)` : ''}`);
  }
} finally {
  await workers.close();
  await app.close();
  await fs.rm(dataDir, { recursive: true, force: true });
}
