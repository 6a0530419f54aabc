import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { freePort } from '../../src/db/embedded.js';
import { tempDir } from '../helpers/app.js';
import { spawnTied } from '../helpers/processes.js';

/*
 * The README's doc test: every ```sh block of README.md runs, in order, in one bash session
 * (`set -euo pipefail`, so a failing command or an undefined variable fails it) against a fresh
 * service started with `--demo`, as a new user would run them after the set-up commands.
 *
 * Conventions for README authors:
 * - ```sh blocks are executed; ```console, ```text, ```json (anything else) are shown, not run. Mark
 *   a block that needs what CI lacks (real AWS, a second machine, a browser) as ```console.
 * - The first ```sh block is the set-up (`npm ci && npm start -- --demo`): this test does it itself.
 * - Blocks run in a directory whose `var/` is the service's data directory (so `cat var/admin-key`
 *   works), each starting there (a `cd` does not leak), sharing variables with later blocks.
 * - http://127.0.0.1:8080 is replaced by the test service's address (tests use no fixed port).
 * - An answer with a 5xx problem (`"status": 5..`) in a block's output fails the test.
 */
const TOOLS = ['bash', 'curl', 'jq', 'unzip', 'openssl', 'sha256sum'];
const missing = TOOLS.filter((tool) => spawnSync('which', [tool]).status !== 0);
const skip = missing.length && process.env.CI !== 'true' ? `the README's blocks need ${missing.join(', ')}; this machine lacks them` : false;

export function shellBlocks(markdown: string): Array<{ line: number; code: string }> {
  const blocks: Array<{ line: number; code: string }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!fence) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    if (fence[1] === 'sh') blocks.push({ line: start + 1, code: body.join('\n') });
  }
  return blocks;
}

t.test('every sh block of the README runs, in order, against a fresh service', { skip }, async (t) => {
  t.ok(missing.length === 0, `tools present: ${TOOLS.join(', ')}`);
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
  for (let i = 0; !serverLog.includes('Custos is listening'); i++) {
    if (server.exitCode !== null || i > 1800) throw new Error(`the service did not start: ${serverLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const script = ['set -euo pipefail'];
  for (const [index, block] of blocks.entries()) {
    script.push(`cd ${JSON.stringify(home)}`, `echo "::block ${index + 1} (README.md line ${block.line})"`, block.code.replaceAll('http://127.0.0.1:8080', `http://127.0.0.1:${port}`));
  }
  await fs.writeFile(path.join(home, 'readme.sh'), script.join('\n') + '\n');
  const run = spawn('bash', [path.join(home, 'readme.sh')], { cwd: home, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  let output = '';
  run.stdout.on('data', (chunk) => (output += chunk));
  run.stderr.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => run.on('exit', resolve));
  const last = [...output.matchAll(/::block (\d+) \(README.md line (\d+)\)/g)].at(-1);
  t.equal(code, 0, code === 0 ? 'every block ran' : `README.md line ${last?.[2]} (block ${last?.[1]}) failed:\n${output.slice(-3000)}`);
  t.notMatch(output, /"status":\s*5\d\d/, 'no 5xx answer');
  t.notMatch(output, /"type":\s*"\/problems\/internal-error"/);
  t.comment(output.slice(-1500));
});
