import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { freePort } from '../../src/db/embedded.js';
import { tempDir } from '../helpers/app.js';
import { spawnTied } from '../helpers/processes.js';
import { missingTools, README_TOOLS, runBlocks, shellBlocks, untilListening } from '../helpers/readme.js';

/*
 * The README's doc test: every ```sh block of README.md runs, in order, in one bash session
 * (`set -euo pipefail`, so a failing command or an undefined variable fails it) against a fresh
 * service started with `--demo`, as a new user would run them after the set-up commands.
 *
 * Conventions for README authors:
 * - ```sh blocks are executed here; ```console, ```text, ```json (anything else) are shown, not run.
 *   Mark a block that needs what CI lacks (real AWS, a second machine, a browser) as ```console.
 * - ```sh aws blocks are executed by test/docs/readme-aws.test.ts instead, against `npm run demo:aws`
 *   (moto with the planted estate, registered as the source demo-aws and collected): use them for
 *   what needs AWS (remediation, Lake Formation grants). Its header says what they may assume.
 * - The first ```sh block is the set-up (`npm ci && npm start -- --demo`): this test does it itself.
 * - Blocks run in a directory whose `var/` is the service's data directory (so `cat var/admin-key`
 *   works), each starting there (a `cd` does not leak), sharing variables with later blocks.
 * - http://127.0.0.1:8080 is replaced by the test service's address (tests use no fixed port).
 * - An answer with a 5xx problem (`"status": 5..`) in a block's output fails the test.
 */
const missing = missingTools();
const skip = missing.length && process.env.CI !== 'true' ? `the README's blocks need ${missing.join(', ')}; this machine lacks them` : false;

t.test('every sh block of the README runs, in order, against a fresh service', { skip }, async (t) => {
  t.ok(missing.length === 0, `tools present: ${README_TOOLS.join(', ')}`);
  const [setup, ...blocks] = shellBlocks(readFileSync('README.md', 'utf8'));
  t.match(setup!.code, /npm ci && npm start -- --demo/, 'the first block is the set-up, which this test does itself');
  t.ok(blocks.length >= 5, `${blocks.length} blocks to run`);

  const home = await tempDir('custos-readme-');
  const port = await freePort();
  const server = spawnTied(process.execPath, ['--import', 'tsx', path.resolve('src/server.ts'), '--demo'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, CUSTOS_DATA_DIR: path.join(home, 'var'), PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let serverLog = '';
  server.stderr!.on('data', (chunk) => (serverLog += chunk));
  const exited = new Promise((resolve) => server.once('exit', resolve));
  t.teardown(async () => {
    server.kill('SIGTERM');
    await exited;
  });
  await untilListening(server, () => serverLog, 'the service', 180);
  await runBlocks(t, blocks, { home, port });
});
