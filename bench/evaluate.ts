/**
 * `npm run bench:evaluate`: a synthetic estate (bench/synthetic-estate.ts) of 100,000 resources,
 * 50,000 Security Hub findings and 20,000 Lake Formation permissions over 50 accounts × 4 regions,
 * imported as a run, evaluated once in full, then re-evaluated after 1% of its resources changed
 * (a second run a day later: unchanged resources' verdicts are reused, rules reading `now` judge
 * every item again). Each figure is the whole evaluation as the service runs it (read the run,
 * evaluate on every core, write findings, resolution, evidence), printed with its target and PASS
 * or MISS, and where its time went.
 *
 * Two processes, so that the memory figure is the service's own: this one generates the estate and
 * imports both runs into a fresh embedded PostgreSQL, then stops its instance; a child process
 * (bench/evaluate-service.mjs) builds the service on that database (nothing else: no estate, no
 * import garbage) and runs the evaluations. The child runs the compiled build under plain node, as
 * production does (built first if the sources changed); BENCH_SERVICE=tsx runs the sources under
 * tsx instead. This process samples the child's resident set (VmRSS in /proc/<pid>/status: its
 * main thread and every worker thread; PostgreSQL, a process of its own, is not counted) every
 * 20 ms while each evaluation runs, and prints the peak.
 * Sizes scale with BENCH_SCALE=0.1. BENCH_CPU_PROF=<dir> writes the service's CPU profiles there;
 * BENCH_KEEP=1 keeps the data directory (printed) for a look at the database afterwards.
 */

import { execFileSync, fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.js';
import { loadDemoData } from '../src/demo/load.js';
import type { EvaluationRecord } from '../src/evaluation/evaluate.js';
import { importSnapshot } from '../src/sources/collections.js';
import { changeResources, syntheticEstate, type EstateSizes } from './synthetic-estate.js';

const TARGETS = { first: 20, again: 3, peakMiB: 600 };
const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
const appConfig = (dataDir: string) => ({ config: { dataDir, logLevel: 'silent' as const, adminKey: 'bench-admin-key-000000000000000' }, announce: () => {}, workers: false });

/**
 * The node flags of `npm start` (package.json), so the benchmark's service runs with the heap limit
 * production runs with: it sets how soon V8 collects garbage, and so the resident set measured.
 */
function startFlags(): string[] {
  const { scripts } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
  const [node, ...words] = scripts.start.split(/\s+/);
  if (node !== 'node') throw new Error(`package.json's start script does not run node: ${scripts.start}`);
  return words.filter((word) => word.startsWith('--'));
}

/** The service process (bench/evaluate-service.mjs): compiled (dist/) unless BENCH_SERVICE=tsx. */
const SERVICE = fileURLToPath(new URL('./evaluate-service.mjs', import.meta.url));
const compiled = process.env.BENCH_SERVICE !== 'tsx';
/** The service's node flags: `npm start`'s for the compiled build, this process's tsx loader otherwise. */
const serviceFlags = compiled ? startFlags() : process.execArgv;

/** Messages from the service process to this one (bench/evaluate-service.mjs). */
type Message =
  | { kind: 'ready'; rss: number }
  | { kind: 'start'; label: string }
  | { kind: 'done'; label: string; seconds: number; cpuSeconds: number; evaluation: EvaluationRecord; phases: Record<string, number> };

await main();

async function main(): Promise<void> {
  const scale = Number(process.env.BENCH_SCALE ?? 1);
  const sizes: EstateSizes = {
    resources: Math.round(100_000 * scale),
    findings: Math.round(50_000 * scale),
    permissions: Math.round(20_000 * scale),
    accounts: 50,
    regions: 4,
  };
  // The compiled service is built first when the sources changed since the last build.
  if (compiled) execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build-if-changed.mjs', import.meta.url))], { stdio: 'inherit' });
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'custos-bench-'));
  await fs.chmod(dataDir, 0o755);
  try {
    const rows = sizes.resources + sizes.findings + sizes.permissions;
    console.log(
      `Custos evaluation benchmark — ${sizes.resources} resources, ${sizes.findings} findings, ${sizes.permissions} permissions ` +
        `over ${sizes.accounts} accounts × ${sizes.regions} regions; ${os.availableParallelism()} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}; ` +
        `service ${compiled ? `compiled (dist/, plain node ${serviceFlags.join(' ')}, as npm start runs it)` : 'from the sources under tsx (BENCH_SERVICE=tsx)'}\n`,
    );
    // Both runs imported here, in this process; the service process below never holds the estate.
    const runIds: string[] = [];
    {
      const app = await buildApp(appConfig(dataDir));
      try {
        await loadDemoData(app.db);
        const context = { actor: 'bench', actorKeyId: null, role: 'system' };
        const estate = syntheticEstate(sizes);
        const started = performance.now();
        const run = await importSnapshot(app.db, estate, { trigger: 'file', context });
        const importMs = performance.now() - started;
        console.log(`import (validate + store ${rows} items): ${(importMs / 1000).toFixed(1)} s (${Math.round(rows / (importMs / 1000))} items/s; no target)`);
        // The sizes printed are what the run holds (identical items would be stored once): checked, not assumed.
        const stored = Object.fromEntries(
          ((await app.db('run_items').where({ run_id: run.id }).select('kind').count('* as n').groupBy('kind')) as Array<{ kind: string; n: string }>).map((r) => [r.kind, Number(r.n)]),
        );
        const asked = { resource: sizes.resources, finding: sizes.findings, permission: sizes.permissions };
        for (const [kind, n] of Object.entries(asked)) if ((stored[kind] ?? 0) !== n) throw new Error(`the run holds ${stored[kind] ?? 0} items of kind ${kind}, not the ${n} generated: the estate repeats some`);
        // The next run, a day later: time-bound violations beginning that day are reported from those kept pending.
        const second = await importSnapshot(
          app.db,
          { ...changeResources(estate, 0.01, sizes), observed_at: new Date(Date.parse(estate.observed_at!) + 86_400_000).toISOString() },
          { trigger: 'file', context },
        );
        runIds.push(run.id, second.id);
      } finally {
        await app.close();
      }
    }

    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`] : [];
    // The service as production runs it: the compiled build under plain node with `npm start`'s node
    // flags (BENCH_SERVICE=tsx: the sources under tsx).
    const child = fork(SERVICE, [dataDir, ...runIds], { execArgv: [...serviceFlags, ...profile], stdio: 'inherit' });
    const rssOfChild = () => {
      try {
        const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
        return kb ? Number(kb) * 1024 : 0;
      } catch {
        return 0;
      }
    };
    // CPU seconds of the service's descendants (the embedded PostgreSQL and its backends).
    const descendantsCpu = () => {
      const children = new Map<number, number[]>();
      const cpu = new Map<number, number>();
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        try {
          const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          const ppid = Number(fields[1]);
          children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
          cpu.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / ticks);
        } catch {
          // gone meanwhile
        }
      }
      let total = 0;
      const walk = (pid: number) => {
        for (const child of children.get(pid) ?? []) {
          total += cpu.get(child) ?? 0;
          walk(child);
        }
      };
      walk(child.pid!);
      return total;
    };
    let databaseCpuAtStart = 0;
    let peak = 0;
    let sampling = false;
    const sampler = setInterval(() => {
      if (sampling) peak = Math.max(peak, rssOfChild());
    }, 20);
    const peaks: Record<string, number> = {};
    const results: Record<string, Extract<Message, { kind: 'done' }>> = {};
    child.on('message', (message: Message) => {
      if (message.kind === 'ready') {
        console.log(`service process before evaluating (app built, policy threads started, no estate in it): RSS ${mib(rssOfChild())} MiB`);
      } else if (message.kind === 'start') {
        databaseCpuAtStart = descendantsCpu();
        peak = rssOfChild();
        sampling = true;
      } else {
        sampling = false;
        peak = Math.max(peak, rssOfChild());
        peaks[message.label] = peak;
        results[message.label] = message;
        const databaseCpu = descendantsCpu() - databaseCpuAtStart;
        const { seconds, cpuSeconds, evaluation: done, phases } = message;
        if (done.status !== 'complete') throw new Error(`evaluation failed: ${done.error}`);
        const c = done.counts;
        const [label, target] =
          message.label === 'first'
            ? ['first evaluation (read + rules + findings + evidence)', TARGETS.first]
            : [`re-evaluation after 1% of resources changed (${Math.round(sizes.resources / 100)} resources)`, TARGETS.again];
        console.log(
          `${label}: ${seconds.toFixed(1)} s (target ${target} s: ${verdict(seconds <= target)}) — mode ${done.mode}; ` +
            `${c.evaluated_items} of ${c.items} run items evaluated by the per-resource rules, ${c.reused_violations} verdicts reused; ` +
            `${c.violations} findings reported (${c.new} new, ${c.resolved} resolved, ${c.carried} carried); ` +
            `service process: peak RSS ${mib(peak)} MiB, CPU ${cpuSeconds.toFixed(1)} s (all its threads); PostgreSQL CPU ${databaseCpu.toFixed(1)} s`,
        );
        console.log(`  where the time went: ${Object.entries(phases).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`).join('; ')}`);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearInterval(sampler);
    if (code !== 0 || !results.first || !results.again) throw new Error(`the service process exited with ${code}`);
    const overall = Math.max(peaks.first!, peaks.again!);
    console.log(
      `\npeak RSS of the service process during the evaluations (main + worker threads, not PostgreSQL; sampled every 20 ms): ` +
        `${mib(overall)} MiB (target ${TARGETS.peakMiB} MiB: ${verdict(mib(overall) <= TARGETS.peakMiB)})`,
    );
    if (results.first.evaluation.mode !== 'parts' || results.again.evaluation.mode !== 'incremental') {
      console.log(`note: modes were ${results.first.evaluation.mode} and ${results.again.evaluation.mode}, not parts and incremental`);
    }
  } finally {
    if (process.env.BENCH_KEEP) console.log(`data directory kept: ${dataDir}`);
    else await fs.rm(dataDir, { recursive: true, force: true });
  }
}
