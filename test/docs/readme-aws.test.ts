import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { freePort } from '../../src/db/embedded.js';
import { tempDir } from '../helpers/app.js';
import { IN_CI, MOTO_SERVER, motoSkip } from '../helpers/moto.js';
import { spawnTied } from '../helpers/processes.js';
import { missingTools, README_TOOLS, runBlocks, shellBlocks, untilListening } from '../helpers/readme.js';

/*
 * The README's AWS doc test: every ```sh aws block of README.md runs, in order, in one bash session
 * against a fresh `npm run demo:aws` (scripts/demo-aws.ts: moto_server with the planted estate of
 * src/demo/aws-estate.ts, Custos against it with the demo catalog, moto's account 123456789012 /
 * us-east-1 registered as the source `demo-aws` and collected once). Without moto this machine
 * skips it, saying so; with CI=true it fails instead.
 *
 * Conventions for README authors (besides those of test/docs/readme.test.ts, which hold here too:
 * `set -euo pipefail`, blocks start in the directory holding `var/`, variables carry over between
 * blocks, http://127.0.0.1:8080 is the service, a 5xx answer fails the test):
 * - Fence a block ```sh aws when it needs AWS: remediation, grants applied to Lake Formation,
 *   reconciliation, collections. The plain ```sh blocks do not run here, nor these there.
 * - The first ```sh aws block is the set-up (`npm run demo:aws`): this test does it itself.
 * - The blocks may assume the estate as planted and collected by demo:aws, and what earlier ```sh aws
 *   blocks did to it; moto is reached only through Custos (its port is not fixed).
 */
const missing = missingTools();
const skip = motoSkip || (missing.length && !IN_CI ? `the README's blocks need ${missing.join(', ')}; this machine lacks them` : false);

t.test('every sh aws block of the README runs, in order, against a fresh npm run demo:aws', { skip }, async (t) => {
  t.ok(missing.length === 0, `tools present: ${README_TOOLS.join(', ')}`);
  if (!MOTO_SERVER) throw new Error("moto_server is required in CI: pip install 'moto[server]'");
  const [setup, ...blocks] = shellBlocks(readFileSync('README.md', 'utf8'), 'sh aws');
  t.match(setup?.code, /npm run demo:aws/, 'the first sh aws block is the set-up, which this test does itself');
  t.ok(blocks.length >= 2, `${blocks.length} blocks to run`);

  const home = await tempDir('custos-readme-aws-');
  const port = await freePort();
  // demo:aws runs moto in its own process group, which spawnTied ends with this test however it ends.
  const server = spawnTied(process.execPath, ['--import', 'tsx', path.resolve('scripts/demo-aws.ts')], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, MOTO_SERVER, CUSTOS_DATA_DIR: path.join(home, 'var'), PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let serverLog = '';
  server.stderr!.on('data', (chunk) => (serverLog += chunk));
  const exited = new Promise((resolve) => server.once('exit', resolve));
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
    await exited;
  };
  t.teardown(stop);
  await untilListening(server, () => serverLog, 'npm run demo:aws', 600);
  const moto = /moto \(AWS emulator\) on (http:\/\/127\.0\.0\.1:\d+)/.exec(serverLog)?.[1];
  t.ok(moto, `moto runs at ${moto}`);

  await runBlocks(t, blocks, { home, port });

  // Ctrl-C (here SIGTERM) stops Custos and moto: nothing is left answering.
  await stop();
  let motoUp = true;
  for (let i = 0; i < 100 && motoUp; i++) {
    motoUp = await fetch(`${moto}/moto-api/`).then(
      async (r) => (await r.arrayBuffer(), true),
      () => false,
    );
    if (motoUp) await new Promise((r) => setTimeout(r, 100));
  }
  t.notOk(motoUp, 'moto_server ended with demo:aws');
});
