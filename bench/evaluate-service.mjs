// The service process of `npm run bench:evaluate` (bench/evaluate.ts forks it): builds the app on the
// database the benchmark prepared (nothing else: no estate, no import garbage) and evaluates each
// run, reporting to the parent, which samples this process's resident set.
//
// It runs the compiled build (dist/, built by scripts/build-if-changed.mjs), with plain node, as
// production does (`npm start`). BENCH_SERVICE=tsx runs the TypeScript sources under tsx instead
// (the parent then passes its tsx loader): a service under tsx holds the compiler's transforms and
// source maps of every module, some 140 MiB more before evaluating anything.
const fromSources = process.env.BENCH_SERVICE === 'tsx';
const root = fromSources ? '../src' : '../dist/src';
const ext = fromSources ? '.ts' : '.js';
const { buildApp } = await import(`${root}/app${ext}`);
const { createEvaluation, runEvaluation } = await import(`${root}/evaluation/evaluate${ext}`);

const [dataDir, ...runIds] = process.argv.slice(2);
const send = (message) => new Promise((resolve) => process.send(message, () => resolve()));
const app = await buildApp({ config: { dataDir, logLevel: 'silent', adminKey: 'bench-admin-key-000000000000000' }, announce: () => {}, workers: false });
try {
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await send({ kind: 'ready', rss: process.memoryUsage().rss });
  for (const [i, runId] of runIds.entries()) {
    const label = i === 0 ? 'first' : 'again';
    const evaluation = await createEvaluation(app.db, { runId, trigger: 'api', requestedBy: 'bench' });
    await send({ kind: 'start', label });
    const phases = {};
    const cpu = process.cpuUsage();
    const started = performance.now();
    const done = await runEvaluation(app.db, app.policy, evaluation.id, { phases });
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    await send({ kind: 'done', label, seconds, cpuSeconds: (used.user + used.system) / 1e6, evaluation: done, phases });
  }
} finally {
  await app.close();
}
