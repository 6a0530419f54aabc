/**
 * `npm run bench:evaluate`: a synthetic estate of 10,000 resources, 50,000 Security Hub findings and
 * 20,000 Lake Formation permissions, imported as a run (storage rows per second) and evaluated by
 * every rule (resources per second), with peak memory. Sizes can be scaled with BENCH_SCALE=0.1.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildApp } from '../src/app.js';
import { loadDemoData } from '../src/demo/load.js';
import { wealthEstate } from '../src/demo/wealth-estate.js';
import { createEvaluation, runEvaluation } from '../src/evaluation/evaluate.js';
import { importSnapshot } from '../src/sources/collections.js';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const sizes = { resources: Math.round(10_000 * scale), findings: Math.round(50_000 * scale), permissions: Math.round(20_000 * scale) };

function syntheticEstate() {
  const resources = Array.from({ length: sizes.resources }, (_, i) => {
    const template = wealthEstate.resources[i % wealthEstate.resources.length]!;
    return { ...template, id: `${template.id}-${i}` };
  });
  const findings = Array.from({ length: sizes.findings }, (_, i) => {
    const template = wealthEstate.findings[i % wealthEstate.findings.length]!;
    return { ...template, id: `${template.id}-${i}` };
  });
  const tables = ['clients', 'contact_information', 'accounts', 'client_tax_information', 'transactions', 'portfolios'];
  const permissions = Array.from({ length: sizes.permissions }, (_, i) => ({
    principal: `arn:aws:iam::111122223333:role/team-${i % 400}`,
    resource: { kind: 'table' as const, database: 'wealth', table: `${tables[i % tables.length]}` },
    permissions: ['SELECT'],
    grantable: [],
    account: '111122223333',
    region: `us-east-${1 + (i % 2)}-${Math.floor(i / 800)}`,
  }));
  return { observed_at: wealthEstate.observed_at, resources, findings, lake_formation: { permissions }, settings: [] };
}

let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'custos-bench-'));
await fs.chmod(dataDir, 0o755);
const app = await buildApp({ config: { dataDir, logLevel: 'silent', adminKey: 'bench-admin-key-000000000000000' }, announce: () => {}, workers: false });
try {
  await loadDemoData(app.db);
  const estate = syntheticEstate();
  const rows = sizes.resources + sizes.findings + sizes.permissions;
  console.log(`Custos evaluation benchmark — ${sizes.resources} resources, ${sizes.findings} findings, ${sizes.permissions} permissions, ${os.cpus().length} CPUs\n`);

  const context = { actor: 'bench', actorKeyId: null, role: 'system' };
  let started = performance.now();
  const run = await importSnapshot(app.db, estate, { trigger: 'file', context });
  const importMs = performance.now() - started;
  console.log(`import (validate + store):  ${(importMs / 1000).toFixed(1)} s   ${Math.round(rows / (importMs / 1000))} rows/s`);

  const evaluation = await createEvaluation(app.db, { runId: run.id, trigger: 'api', requestedBy: 'bench' });
  started = performance.now();
  const done = await runEvaluation(app.db, app.policy, evaluation.id);
  const evalMs = performance.now() - started;
  if (done.status !== 'complete') throw new Error(`evaluation failed: ${done.error}`);
  console.log(`evaluate (read + rules + findings): ${(evalMs / 1000).toFixed(1)} s   ${Math.round(rows / (evalMs / 1000))} items/s   ${done.counts.violations} findings`);

  started = performance.now();
  const again = await runEvaluation(app.db, app.policy, (await createEvaluation(app.db, { runId: run.id, trigger: 'api', requestedBy: 'bench' })).id);
  const againMs = performance.now() - started;
  console.log(`re-evaluate (findings known):       ${(againMs / 1000).toFixed(1)} s   ${Math.round(rows / (againMs / 1000))} items/s   new ${again.counts.new}`);
  console.log(`\npeak memory (RSS): ${mib(peak)}`);
} finally {
  clearInterval(sampler);
  await app.close();
  await fs.rm(dataDir, { recursive: true, force: true });
}
