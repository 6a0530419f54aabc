import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { realpathSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { freePort } from '../../src/db/embedded.js';

// Issue 19: a clone in a directory the postgres user cannot enter (/root, mktemp -d: mode 0700),
// started as root with no setting. PostgreSQL runs as `postgres`, which can reach neither the
// binaries in node_modules nor ./var there: Custos prepares a reachable copy of the binaries and of
// the cluster in /var/lib/custos. Where that cannot apply, one line names the path and the fix.
const skip = process.getuid?.() === 0 ? false : 'needs root: PostgreSQL runs as the postgres user only when Custos runs as root';
const REPO = path.resolve('.');

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs a command in its own process group, so it and its children end together. */
function run(command: string, args: string[], cwd: string, env: Record<string, string>): Running {
  const child = spawn(command, args, {
    cwd,
    detached: true,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killGroup);
  void exited.then(() => process.removeListener('exit', killGroup));
  return { child, output: () => output, exited };
}

/** A checkout of this working tree (every file git would commit) in a fresh 0700 directory. */
async function checkoutInPrivateHome(): Promise<{ home: string; clone: string }> {
  const home = realpathSync(await fs.mkdtemp(path.join(os.tmpdir(), 'custos-home-')));
  await fs.chmod(home, 0o700);
  const clone = path.join(home, 'custos');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    const from = path.join(REPO, file);
    const stat = await fs.lstat(from).catch(() => undefined);
    if (!stat?.isFile()) continue; // deleted in the working tree
    await fs.mkdir(path.dirname(path.join(clone, file)), { recursive: true });
    await fs.copyFile(from, path.join(clone, file));
    await fs.chmod(path.join(clone, file), stat.mode & 0o777);
  }
  // What `npm ci` would install, as hard links (same files, now below the 0700 directory).
  // realpath: a worktree's node_modules may be a symbolic link to a reachable tree, which would not be below the 0700 home.
  execFileSync('cp', ['-al', realpathSync(path.join(REPO, 'node_modules')), path.join(clone, 'node_modules')]);
  return { home, clone };
}

let checkout: Promise<{ home: string; clone: string }> | undefined;
const privateCheckout = () => (checkout ??= checkoutInPrivateHome());
t.teardown(async () => {
  if (!checkout) return;
  const { home, clone } = await checkout;
  // The cluster prepared for the clone's ./var lives outside it.
  const cluster = await fs.readlink(path.join(clone, 'var', 'pg')).catch(() => undefined);
  if (cluster) rmSync(cluster, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

async function waitReady(port: number, running: Running, seconds: number): Promise<void> {
  for (let i = 0; i < seconds * 5; i++) {
    const status = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
    if (status === 200) return;
    if (running.child.exitCode !== null) throw new Error(`server exited: ${running.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server not ready in ${seconds} s: ${running.output()}`);
}

t.test('as root, from a clone in a 0700 directory: npm start -- --demo and a test file run with no setting', { skip }, async (t) => {
  const { home, clone } = await privateCheckout();
  t.equal((await fs.stat(home)).mode & 0o777, 0o700);

  const port = await freePort();
  const server = run('npm', ['start', '--', '--demo'], clone, { PORT: String(port), LOG_LEVEL: 'warn' });
  await waitReady(port, server, 480);
  const key = (await fs.readFile(path.join(clone, 'var', 'admin-key'), 'utf8')).trim();
  const assets = await (await fetch(`http://127.0.0.1:${port}/v1/assets?limit=500`, { headers: { authorization: `Bearer ${key}` } })).json();
  t.equal(assets.items.length, 30, 'the demo catalog is loaded');
  t.notMatch(server.output(), /EACCES|Unhandled|\n\s+at /, 'no permission error or stack trace');

  const cluster = await fs.readlink(path.join(clone, 'var', 'pg'));
  t.match(cluster, /^\/var\/lib\/custos\/clusters\/[0-9a-f]{16}$/, 'the cluster of ./var is prepared where postgres can reach it');
  t.equal((await fs.stat(cluster)).mode & 0o777, 0o700);
  const binaries = (await fs.readdir('/var/lib/custos')).filter((name) => /^postgresql-[0-9a-f]{16}$/.test(name));
  t.ok(binaries.length >= 1, 'the binaries are copied into /var/lib/custos');
  const postgres = await fs.stat(path.join('/var/lib/custos', binaries[0]!, 'bin', 'postgres'));
  t.same([postgres.uid, postgres.mode & 0o777], [0, 0o755], 'root-owned, readable and executable by postgres');

  process.kill(-server.child.pid!, 'SIGTERM');
  await server.exited;

  const tap = run(path.join(clone, 'node_modules', '.bin', 'tap'), ['--timeout=600', '--disable-coverage', 'test/db/migrations.test.ts'], clone, {});
  const code = await tap.exited;
  t.equal(code, 0, 'a test file against embedded PostgreSQL passes in the clone');
  if (code !== 0) t.comment(tap.output().slice(-3000));
});

t.test('where the fix cannot apply: one line naming the path and the fix, in start-up and in the tests', { skip }, async (t) => {
  const { home, clone } = await privateCheckout();
  // The prepared directory would itself be below the 0700 home: nothing the postgres user can reach.
  const env = { CUSTOS_PG_RUNTIME_DIR: path.join(home, 'runtime'), CUSTOS_DATA_DIR: path.join(home, 'data'), LOG_LEVEL: 'warn' };
  const expected = `the postgres user cannot enter ${home} (mode 0700), so it cannot reach the PostgreSQL binaries in ${path.join(home, 'runtime')}: set CUSTOS_PG_RUNTIME_DIR to a directory the postgres user can enter (default /var/lib/custos), or set DATABASE_URL`;

  const server = run(process.execPath, ['--import', 'tsx', 'src/server.ts'], clone, { ...env, PORT: String(await freePort()) });
  t.equal(await server.exited, 1);
  t.equal(server.output(), `custos: failed to start: ${expected}\n`, 'exactly one line');

  const tap = run(path.join(clone, 'node_modules', '.bin', 'tap'), ['--timeout=600', '--disable-coverage', 'test/db/migrations.test.ts'], clone, env);
  t.not(await tap.exited, 0);
  t.match(tap.output(), `Bail out! embedded PostgreSQL: ${expected}`, 'the tests stop with the same line');
  t.notMatch(tap.output(), /EACCES|Unhandled 'error' event/, 'no unhandled error event');
});
