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

async function waitReady(port: number, running: Running): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const status = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
    if (status === 200) return;
    if (running.child.exitCode !== null) throw new Error(`server exited: ${running.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server not ready in 30 s');
}

t.test('invalid configuration stops start-up with one line naming the variable', async (t) => {
  const cases: Array<[string, string]> = [['PORT', 'eighty'], ['LOG_LEVEL', 'loud'], ['DATABASE_URL', 'mysql://x'], ['CUSTOS_ADMIN_KEY', 'short']];
  for (const [variable, value] of cases) {
    const running = run({ [variable]: value, CUSTOS_DATA_DIR: await tempDir() });
    t.equal(await running.exited, 1, `${variable}=${value} exits 1`);
    const lines = running.stderr().trim().split('\n');
    t.equal(lines.length, 1);
    t.match(lines[0], new RegExp(`^custos: invalid configuration: ${variable} `));
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
  t.match(first.stderr(), /created the first admin API key/);
  const key = (await fs.readFile(path.join(dataDir, 'admin-key'), 'utf8')).trim();
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
  first.child.kill('SIGTERM');
  t.equal(await first.exited, 0, 'exits 0 on SIGTERM');
  t.notOk(existsSync(path.join(dataDir, 'pg', 'postmaster.pid')), 'PostgreSQL stopped cleanly');

  const second = run(env, ['--demo']);
  t.teardown(() => void second.child.kill('SIGKILL'));
  await waitReady(port, second);
  t.notMatch(second.stderr(), /created the first admin API key/, 'no second bootstrap key');
  const reread = await fetch(`${base}/v1/compliance-records/${record.id}`, { headers: auth });
  t.equal(reread.status, 200, 'the record and the key survived the restart');
  t.same(await reread.json(), record);
  const again = await (await fetch(`${base}/v1/assets?limit=500`, { headers: auth })).json();
  t.equal(again.items.length, 30, '--demo on a non-empty catalog loads nothing twice');

  second.child.kill('SIGINT');
  t.equal(await second.exited, 0, 'exits 0 on SIGINT');
  t.notOk(existsSync(path.join(dataDir, 'pg', 'postmaster.pid')));
});
