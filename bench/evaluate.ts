/**
 * `npm run bench:evaluate`: a synthetic estate (bench/synthetic-estate.ts) of 100,000 resources,
 * 50,000 Security Hub findings and 20,000 Lake Formation permissions over 50 accounts × 4 regions,
 * imported as a run, evaluated once in full, then re-evaluated after 1% of its resources changed
 * (a second run: unchanged resources' verdicts are reused). Each figure is the whole evaluation as
 * the service runs it (read the run, evaluate on every core, write findings, resolution, evidence),
 * printed with its target and PASS or MISS. Memory: the process's RSS (main thread and every worker
 * thread) sampled every 20 ms while each evaluation runs; the peak is printed.
 * Sizes scale with BENCH_SCALE=0.1.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildApp } from '../src/app.js';
import { loadDemoData } from '../src/demo/load.js';
import { createEvaluation, runEvaluation, type EvaluationRecord } from '../src/evaluation/evaluate.js';
import { importSnapshot } from '../src/sources/collections.js';
import { changeResources, syntheticEstate, type EstateSizes } from './synthetic-estate.js';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const sizes: EstateSizes = {
  resources: Math.round(100_000 * scale),
  findings: Math.round(50_000 * scale),
  permissions: Math.round(20_000 * scale),
  accounts: 50,
  regions: 4,
};
const TARGETS = { first: 20, again: 3, peakMiB: 600 };

const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
let peak = 0;
let sampling = false;
// RSS covers the whole process: the main thread and the policy worker threads.
const sampler = setInterval(() => {
  if (sampling) peak = Math.max(peak, process.memoryUsage().rss);
}, 20);
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'custos-bench-'));
await fs.chmod(dataDir, 0o755);
const app = await buildApp({ config: { dataDir, logLevel: 'silent', adminKey: 'bench-admin-key-000000000000000' }, announce: () => {}, workers: false });
try {
  await loadDemoData(app.db);
  const context = { actor: 'bench', actorKeyId: null, role: 'system' };
  const rows = sizes.resources + sizes.findings + sizes.permissions;
  console.log(
    `Custos evaluation benchmark — ${sizes.resources} resources, ${sizes.findings} findings, ${sizes.permissions} permissions ` +
      `over ${sizes.accounts} accounts × ${sizes.regions} regions; ${os.availableParallelism()} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}\n`,
  );

  // Both runs are imported first and the generated estates released, so the RSS sampled during the
  // evaluations is the service's, not the benchmark's copy of 340,000 items.
  let estate: ReturnType<typeof syntheticEstate> | undefined = syntheticEstate(sizes);
  let started = performance.now();
  const run = await importSnapshot(app.db, estate, { trigger: 'file', context });
  const importMs = performance.now() - started;
  console.log(`import (validate + store ${rows} items): ${(importMs / 1000).toFixed(1)} s (${Math.round(rows / (importMs / 1000))} items/s; no target)`);
  // The next run, a day later (so rules reading `now`, such as the findings' SLA, judge every item again).
  const second = await importSnapshot(
    app.db,
    { ...changeResources(estate, 0.01, sizes), observed_at: new Date(Date.parse(estate.observed_at!) + 86_400_000).toISOString() },
    { trigger: 'file', context },
  );
  estate = undefined;
  await new Promise((resolve) => setTimeout(resolve, 1_000));

  const evaluate = async (runId: string, label: string, target: number): Promise<EvaluationRecord> => {
    const evaluation = await createEvaluation(app.db, { runId, trigger: 'api', requestedBy: 'bench' });
    peak = process.memoryUsage().rss;
    sampling = true;
    started = performance.now();
    const done = await runEvaluation(app.db, app.policy, evaluation.id);
    const seconds = (performance.now() - started) / 1000;
    sampling = false;
    if (done.status !== 'complete') throw new Error(`evaluation failed: ${done.error}`);
    const c = done.counts;
    console.log(
      `${label}: ${seconds.toFixed(1)} s (target ${target} s: ${verdict(seconds <= target)}) — mode ${done.mode}; ` +
        `${c.evaluated_items} of ${c.items} run items evaluated by the per-resource rules, ${c.reused_violations} verdicts reused; ` +
        `${c.violations} findings reported (${c.new} new, ${c.resolved} resolved, ${c.carried} carried); peak RSS during it ${mib(peak)} MiB`,
    );
    return done;
  };

  console.log(`RSS before evaluating (service, worker threads started): ${mib(process.memoryUsage().rss)} MiB`);
  const first = await evaluate(run.id, 'first evaluation (read + rules + findings + evidence)', TARGETS.first);
  const firstPeak = peak;

  const again = await evaluate(second.id, `re-evaluation after 1% of resources changed (${Math.round(sizes.resources / 100)} resources)`, TARGETS.again);
  const overall = Math.max(firstPeak, peak);
  console.log(`\npeak RSS during the evaluations (main + worker threads, sampled every 20 ms): ${mib(overall)} MiB (target ${TARGETS.peakMiB} MiB: ${verdict(mib(overall) <= TARGETS.peakMiB)})`);
  if (first.mode !== 'parts' || again.mode !== 'incremental') console.log(`note: modes were ${first.mode} and ${again.mode}, not parts and incremental`);
} finally {
  clearInterval(sampler);
  await app.close();
  await fs.rm(dataDir, { recursive: true, force: true });
}
