import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';

// `npm test` (scripts/test.mjs) repeats each failing assertion after tap's totals, where a CI log's
// tail shows it; a passing run adds nothing.
const root = path.resolve(import.meta.dirname, '../..');
const run = (file: string) =>
  spawnSync(process.execPath, [path.join(root, 'scripts/test.mjs'), '--disable-coverage', file], {
    cwd: root,
    encoding: 'utf8',
    // Not as a child of this tap run: its TAP_* variables would make the inner run report to it.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TAP') && !name.startsWith('_TAP'))), PATH: `${path.join(root, 'node_modules/.bin')}${path.delimiter}${process.env.PATH}` },
  });

t.test('a failing assertion is repeated at the end, with the subtests it sits in; the exit code is tap’s', async (t) => {
  // Inside the checkout's ignored test-artifacts/: tap saves each file's results under .tap/ by the
  // file's path relative to the project, which for a file outside it lands beside the sources.
  await fs.mkdir(path.join(root, 'test-artifacts'), { recursive: true });
  const dir = await fs.mkdtemp(path.join(root, 'test-artifacts', 'summary-'));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  const failing = path.join(dir, 'failing.test.mjs');
  await fs.writeFile(failing, `import t from '${path.join(root, 'node_modules/tap/dist/esm/index.js')}';\nt.test('outer', async (t) => { t.test('inner', async (t) => { t.equal(1, 2, 'one is two'); t.ok(true, 'fine'); }); });\n`);
  const result = run(failing);
  t.equal(result.status, 1, 'fails as tap fails');
  const totals = result.stdout.lastIndexOf('# { total');
  t.ok(totals > 0, 'tap printed its totals');
  const tail = result.stdout.slice(totals);
  t.match(tail, /== npm test failed \(tap exit 1\)/);
  t.match(tail, /-- .*failing\.test\.mjs > outer > inner\nnot ok 1 - one is two\n/, 'the assertion, after the totals, with where it sits');
  t.match(tail, /\+1/, 'and its diagnostics');
  t.notMatch(tail, /ok \d+ - fine/, 'passing assertions are not repeated');

  const passing = path.join(dir, 'passing.test.mjs');
  await fs.writeFile(passing, `import t from '${path.join(root, 'node_modules/tap/dist/esm/index.js')}';\nt.ok(true, 'fine');\n`);
  const clean = run(passing);
  t.equal(clean.status, 0);
  t.notMatch(clean.stdout, /npm test failed/);
});
