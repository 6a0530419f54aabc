// `npm start` (and the CLI scripts) build through this: tsc and the console's vite build run only when a source file, a tsconfig
// or package.json or its lock changed since the last build, so an unchanged checkout starts at once instead of
// recompiling for ~16 s. The digest of the inputs is kept in dist/.build-digest.
// `--check`: exit 0 if dist is up to date, 1 if a build is needed (builds nothing).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const DIGEST_FILE = path.join(root, 'dist', '.build-digest');
const INPUTS = ['src', 'migrations', 'web', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];

function files(entry) {
  const full = path.join(root, entry);
  if (!existsSync(full)) return [];
  if (!readdirSync(path.dirname(full), { withFileTypes: true }).find((e) => e.name === path.basename(full))?.isDirectory()) return [entry];
  return readdirSync(full, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => files(path.join(entry, e.name)));
}

function digest() {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap(files)) hash.update(file + '\0').update(readFileSync(path.join(root, file))).update('\0');
  return hash.digest('hex');
}

const current = digest();
const built = existsSync(DIGEST_FILE) && existsSync(path.join(root, 'dist', 'src', 'server.js')) ? readFileSync(DIGEST_FILE, 'utf8').trim() : '';
if (process.argv.includes('--check')) process.exit(built === current ? 0 : 1);
if (built !== current) {
  process.stderr.write('custos: building (the sources changed since the last build)\n');
  try {
    execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
    // The web console (web/ → dist/web), served by Custos at /.
    execFileSync(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn', '--config', path.join(root, 'web', 'vite.config.ts')], { stdio: 'inherit', cwd: root });
  } catch {
    process.stderr.write('custos: the build failed (the TypeScript errors are above)\n');
    process.exit(1);
  }
  writeFileSync(DIGEST_FILE, current + '\n');
}
