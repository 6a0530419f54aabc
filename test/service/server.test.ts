import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { freePort } from '../../src/db/embedded.js';
import { tempDir } from '../helpers/app.js';

// The real entry point, as `npm start` runs it, in a child process (through tsx, so no build is needed).
const SERVER = path.resolve('src/server.ts');

interface Running {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>, args: string[] = []): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

function cli(name: string, args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(`src/cli/${name}.ts`), ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => output, exited };
}

t.test('evidence:verify: --help, one line naming the problem, and no database created by reading', async (t) => {
  const help = cli('evidence-verify', ['--help'], {});
  t.equal(await help.exited, 0);
  t.match(help.stderr(), /^usage: npm run evidence:verify/);

  const dataDir = path.join(await tempDir(), 'var');
  const none = cli('evidence-verify', [], { CUSTOS_DATA_DIR: dataDir });
  t.equal(await none.exited, 1);
  t.equal(none.stderr(), `custos evidence:verify: there is no Custos database in ${dataDir} (CUSTOS_DATA_DIR): start Custos there first (npm start), or set DATABASE_URL\n`);
  t.notOk(existsSync(dataDir), 'nothing was created');

  const unknown = cli('evidence-verify', ['--exprot', 'x.zip'], { CUSTOS_DATA_DIR: dataDir });
  t.equal(await unknown.exited, 1);
  t.equal(unknown.stderr(), 'custos evidence:verify: unknown argument --exprot (see --help)\n');
  const missing = cli('evidence-verify', ['--export'], {});
  t.equal(await missing.exited, 1);
  t.equal(missing.stderr(), 'custos evidence:verify: --export needs a file name (see --help)\n');
});

async function waitReady(port: number, running: Running): Promise<void> {
  // Generous: tsx compiles the service and initdb runs on first start, on a busy 2-core machine.
  for (let i = 0; i < 1800; i++) {
    const status = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
    // The admin key and the URLs are printed once the server listens.
    if (status === 200 && running.stderr().includes('Custos is listening')) return;
    if (running.child.exitCode !== null) throw new Error(`server exited: ${running.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not ready in 180 s: ${running.stderr()}`);
}

t.test('invalid configuration stops start-up with one line naming the variable', async (t) => {
  const cases: Array<[string, string]> = [
    ['PORT', 'eighty'],
    ['LOG_LEVEL', 'loud'],
    ['DATABASE_URL', 'mysql://x'],
    ['CUSTOS_ADMIN_KEY', 'short'],
    ['HOST', 'not-a-host'],
    ['CUSTOS_SIGNING_KEY', '-----BEGIN PRIVATE KEY-----\\ngarbage\\n-----END PRIVATE KEY-----'],
  ];
  for (const [variable, value] of cases) {
    const dataDir = await tempDir();
    const running = run({ [variable]: value, CUSTOS_DATA_DIR: dataDir });
    t.equal(await running.exited, 1, `${variable}=${value} exits 1`);
    const lines = running.stderr().trim().split('\n');
    t.equal(lines.length, 1);
    t.match(lines[0], new RegExp(`^custos: invalid configuration: ${variable} `));
    t.same(await fs.readdir(dataDir), [], `${variable}: checked before anything is created`);
  }
});

t.test('embedded PostgreSQL: demo data, clean stop on SIGTERM, data survives a restart', async (t) => {
  const dataDir = await tempDir();
  const port = await freePort();
  const env = { CUSTOS_DATA_DIR: dataDir, PORT: String(port) };
  const base = `http://127.0.0.1:${port}`;

  const first = run(env, ['--demo']);
  t.teardown(() => void first.child.kill('SIGKILL'));
  await waitReady(port, first);
  const key = (await fs.readFile(path.join(dataDir, 'admin-key'), 'utf8')).trim();
  const banner = first.stderr().slice(first.stderr().indexOf('Custos created the first admin API key'));
  t.match(banner, `Custos created the first admin API key (shown once; also in ${path.join(dataDir, 'admin-key')}): ${key}\nCustos is listening on ${base}\n`, 'the key, once listening');
  t.match(banner, `  API       ${base}/v1\n  API docs  ${base}/docs\n  console   ${base}/\n`, 'with the URLs');
  t.match(banner, new RegExp(`\\n  sign in   ${base}/\\S+ .*no IdP is configured\\)\\nNext: `), 'a one-time sign-in link for the demo, then what to do next');
  const root = await fetch(`${base}/`, { redirect: 'manual' });
  // The console when it is built (dist/web); otherwise one line saying how to build it.
  const page = await root.text();
  if (existsSync(path.resolve('dist/web/index.html'))) t.same([root.status, /<html/i.test(page)], [200, true], 'GET / is the console');
  else t.same([root.status, page], [503, 'The web console is not built: run `npm run build` (the API docs are at /docs).\n'], 'GET / says how to build the console');

  // A second instance on the same data directory stops with one line naming the cause.
  const second = run({ ...env, PORT: String(await freePort()) });
  t.equal(await second.exited, 1);
  t.match(second.stderr(), new RegExp(`^custos: failed to start: another PostgreSQL \\(PID \\d+\\), probably another Custos, is running on the data directory ${path.join(dataDir, 'pg')}: stop it, or give this instance its own CUSTOS_DATA_DIR\n$`));

  const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

  const assets = await (await fetch(`${base}/v1/assets?limit=500`, { headers: auth })).json();
  t.equal(assets.items.length, 30, 'the demo catalog: 28 tables of seed 001 and 2 document buckets');
  const created = await fetch(`${base}/v1/compliance-records`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ regulation: 'FINRA', requirement_id: '4511', status: 'compliant', responsible_party: 'cco@bank.example' }),
  });
  t.equal(created.status, 201);
  const record = await created.json();

  t.ok(existsSync(path.join(dataDir, 'pg', 'postmaster.pid')), 'PostgreSQL running');
  // A command that reads state uses the running server's database.
  const verify = cli('evidence-verify', [], env);
  t.equal(await verify.exited, 0, verify.stderr());

  first.child.kill('SIGTERM');
  t.equal(await first.exited, 0, 'exits 0 on SIGTERM');
  t.notOk(existsSync(path.join(dataDir, 'pg', 'postmaster.pid')), 'PostgreSQL stopped cleanly');

  const restarted = run(env, ['--demo']);
  t.teardown(() => void restarted.child.kill('SIGKILL'));
  await waitReady(port, restarted);
  t.notMatch(restarted.stderr(), /created the first admin API key/, 'no second bootstrap key');
  const reread = await fetch(`${base}/v1/compliance-records/${record.id}`, { headers: auth });
  t.equal(reread.status, 200, 'the record and the key survived the restart');
  t.same(await reread.json(), record);
  const again = await (await fetch(`${base}/v1/assets?limit=500`, { headers: auth })).json();
  t.equal(again.items.length, 30, '--demo on a non-empty catalog loads nothing twice');

  restarted.child.kill('SIGINT');
  t.equal(await restarted.exited, 0, 'exits 0 on SIGINT');
  t.notOk(existsSync(path.join(dataDir, 'pg', 'postmaster.pid')));
});
