import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { tempDir } from '../helpers/app.js';

// `npm start` builds through scripts/build-if-changed.mjs: tsc runs when the sources changed, and an
// unchanged checkout starts from what is built (it used to recompile for ~16 s on every start).
t.test('the build runs once, and again only when a source changes', async (t) => {
  const dir = await tempDir('custos-build-');
  for (const entry of ['src', 'migrations', 'web', 'scripts/build-if-changed.mjs', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json']) {
    await fs.cp(entry, path.join(dir, entry), { recursive: true });
  }
  await fs.symlink(path.resolve('node_modules'), path.join(dir, 'node_modules'));
  const build = (...args: string[]) => spawnSync(process.execPath, [path.join(dir, 'scripts', 'build-if-changed.mjs'), ...args], { encoding: 'utf8' });

  t.equal(build('--check').status, 1, 'nothing built yet');
  const first = build();
  t.equal(first.status, 0, first.stderr);
  t.match(first.stderr, /building/);
  t.ok(await fs.stat(path.join(dir, 'dist', 'src', 'server.js')));

  // Not timed (a loaded CI machine makes any bound flaky): nothing was rewritten.
  const built = (await fs.stat(path.join(dir, 'dist', 'src', 'server.js'))).mtimeMs;
  const second = build();
  t.same([second.status, second.stderr], [0, ''], 'unchanged: no build');
  t.equal((await fs.stat(path.join(dir, 'dist', 'src', 'server.js'))).mtimeMs, built, 'and nothing rewritten');

  await fs.appendFile(path.join(dir, 'src', 'config.ts'), '\n// changed\n');
  t.equal(build('--check').status, 1, 'a changed source needs a build');
});
