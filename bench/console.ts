/**
 * `npm run bench:console`: how long the console's overview takes to render in Chromium on the demo
 * estate grown to 10,000 open findings (the issue asks for under 1 s). The demo estate is collected
 * and evaluated as `--demo` does; its open findings are then copied onto new resource ids (with their
 * evaluation links) until there are FINDINGS of them, as a larger estate's evaluation would leave them.
 * Each run is a fresh page load of / by a signed-in admin, timed in the page from navigation start
 * until every panel shows its data (three charts, top failing rules, the coverage calendar, what waits).
 * A figure printed, not a timed test. BENCH_FINDINGS and BENCH_RUNS change the sizes.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { buildApp } from '../src/app.js';
import { demoSignInLink } from '../src/auth/console-login.js';

const FINDINGS = Number(process.env.BENCH_FINDINGS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CHROMIUM = process.env.CUSTOS_CHROMIUM ?? '/usr/bin/chromium';
const ADMIN = 'bench-console-Xq7vR2mLk9PzT4wYb8Nc';
if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium, or set CUSTOS_CHROMIUM`);

const root = path.resolve(import.meta.dirname, '..');
await promisify(execFile)(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn', '--config', 'web/vite.config.ts'], { cwd: root });

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'custos-bench-console-'));
await fs.chmod(dataDir, 0o755);
const app = await buildApp({ config: { dataDir, logLevel: 'silent', adminKey: ADMIN }, demo: true, announce: () => {}, workers: false });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
try {
  const db = app.db;
  const open = async () => Number((await db('findings').where({ status: 'open' }).count('* as n').first())?.n ?? 0);
  const demo = await open();
  if (demo === 0) throw new Error('the demo estate has no open finding to grow from');
  // Copies of the demo's open findings on new resource ids, linked to the evaluation that saw them.
  await db.raw(
    `WITH open_findings AS (SELECT * FROM findings WHERE status = 'open'),
     copies AS (
       INSERT INTO findings (id, fingerprint, rule_id, severity, controls, msg, rule, resource_type, resource_id, account, region, status, first_seen_at, first_evaluation_id)
       SELECT gen_random_uuid(), f.fingerprint || ':bench:' || g, f.rule_id, f.severity, f.controls, f.msg, f.rule, f.resource_type, f.resource_id || '-bench-' || g, f.account, f.region, 'open', f.first_seen_at, f.first_evaluation_id
       FROM generate_series(1, ?::int) AS g CROSS JOIN open_findings AS f
       LIMIT ?
       RETURNING id, first_evaluation_id
     )
     INSERT INTO evaluation_findings (evaluation_id, finding_id) SELECT first_evaluation_id, id FROM copies`,
    [Math.ceil(FINDINGS / demo), Math.max(0, FINDINGS - demo)],
  );
  await db.raw('ANALYZE findings; ANALYZE evaluation_findings');
  const total = await open();
  const controls = (await app.inject({ method: 'GET', url: '/v1/controls?limit=500', headers: { authorization: `Bearer ${ADMIN}` } })).json().items.length as number;

  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${address}${await demoSignInLink(app)}`);
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  console.log(`Custos console overview benchmark — ${total} open findings, ${controls} controls, Chromium ${browser.version()}, ${os.cpus().length} CPUs\n`);

  const ready = () => {
    const top = document.querySelectorAll('[aria-labelledby="top-rules"] tbody tr').length > 0;
    const charts = document.querySelectorAll('#main canvas').length >= 3 || (document.querySelectorAll('#main canvas').length >= 2 && document.body.textContent!.includes('No evaluations in the period'));
    const waiting = document.querySelector('[aria-labelledby="waiting"] li') !== null;
    const calendar = document.querySelector('.calendar') !== null;
    return top && charts && waiting && calendar ? performance.now() : false;
  };
  const times: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    await page.goto(`${address}/`, { waitUntil: 'commit' });
    const handle = await page.waitForFunction(ready, undefined, { timeout: 60_000, polling: 'raf' });
    const ms = (await handle.jsonValue()) as number;
    // The first load fills the browser's and PostgreSQL's caches: reported, not counted.
    if (i === 0) console.log(`first load (cold):           ${ms.toFixed(0)} ms`);
    else times.push(ms);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(`overview rendered, ${RUNS} loads: median ${median.toFixed(0)} ms, fastest ${times[0]!.toFixed(0)} ms, slowest ${times.at(-1)!.toFixed(0)} ms`);
  console.log(`target: under 1000 ms — ${median < 1000 ? 'met' : 'NOT met'} (median)`);
  const overview = await app.inject({ method: 'GET', url: '/v1/overview', headers: { authorization: `Bearer ${ADMIN}` } });
  const started = performance.now();
  await app.inject({ method: 'GET', url: '/v1/overview', headers: { authorization: `Bearer ${ADMIN}` } });
  console.log(`GET /v1/overview alone:       ${(performance.now() - started).toFixed(0)} ms (${JSON.stringify(overview.json().open_findings_by_severity)})`);
  await context.close();
} finally {
  await browser.close();
  await app.close();
  await fs.rm(dataDir, { recursive: true, force: true });
}
