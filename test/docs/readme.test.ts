import { readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { freePort } from '../../src/db/embedded.js';
import { ACCOUNTS, CLIENTS, CONTACTS, demoRules, PLANTED, ssnOf } from '../../src/demo/wealth-data.js';
import { tempDir } from '../helpers/app.js';
import { spawnTied } from '../helpers/processes.js';
import { missingTools, README_TOOLS, runBlocks, shellBlocks, untilListening, type Block } from '../helpers/readme.js';

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
 *   works) and which otherwise links to this checkout's files (so `npm run demo:data` works as in a
 *   checkout; PORT is the service's), each starting there (a `cd` does not leak), sharing variables
 *   with later blocks.
 * - http://127.0.0.1:8080 is replaced by the test service's address (tests use no fixed port).
 * - An answer with a 5xx problem (`"status": 5..`) in a block's output fails the test.
 * - Some walk-throughs' outputs are checked below, beyond their exit status (the data quality one).
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
  const output = await runBlocks(t, blocks, { home, port });
  dataQualityWalkthrough(t, blocks, output);
  // Four eyes by identity: the principal joins the Client domain once its owner approves; the admin,
  // who made the steward's key, could not have (src/auth/identity.ts).
  t.match(outputOf(blocks, output, /steward-principals/), /"status": "applied",\s*"kind": "principals\.create"/, 'the domain owner approved the steward\'s change');
});

/** The output of the block whose code matches `code`: from its marker to the next block's. */
function outputOf(blocks: Block[], output: string, code: RegExp): string {
  const index = blocks.findIndex((b) => code.test(b.code));
  if (index < 0) throw new Error(`no README block matches ${code}`);
  const start = output.indexOf(`::block ${index + 1} (README.md line ${blocks[index]!.line})`);
  const end = output.indexOf('::block ', start + 1);
  return start < 0 ? '' : output.slice(start, end < 0 ? undefined : end);
}

/**
 * The steward's data quality walk-through (issue 18): `npm run demo:data` catches every planted
 * defect with the rule made for it, samples come back masked and no clear SSN is printed, each
 * failing rule opened a finding, a predicate reading another table is refused naming the field, an
 * on-demand run completes as a durable job, and the schedule is stored.
 */
function dataQualityWalkthrough(t: Test, blocks: Block[], output: string) {
  const text = outputOf(blocks, output, /npm run -s demo:data/);
  t.match(text, /wealth database created on .* with planted defects/, 'demo:data created the wealth database');
  const expected: Record<string, string> = {
    'SSN unique': `${PLANTED.duplicateSsnClients.length}/${CLIENTS}`,
    'born in the past': `${PLANTED.futureBirthClients.length}/${CLIENTS}`,
    'last name present': `${PLANTED.missingLastNameClients.length}/${CLIENTS}`,
    'marital status known': `${PLANTED.unknownMaritalStatusClients.length}/${CLIENTS}`,
    'email well formed': `${PLANTED.malformedEmailContacts.length}/${CONTACTS}`,
    'account has a client': `${PLANTED.orphanAccounts.length}/${ACCOUNTS}`,
    'open accounts not overdrawn': `${PLANTED.negativeOpenAccounts.length}/${ACCOUNTS}`,
    'prices are current': '{"rows":25,',
    'statements loaded': '{"rows":0,"reasons":["fewer than 1 rows"]}',
  };
  t.same(Object.keys(expected).sort(), demoRules().map((r) => r.name).sort(), 'every demo rule is checked');
  for (const [name, counts] of Object.entries(expected)) {
    const line = text.split('\n').find((l) => l.trim().startsWith('failed') && l.includes(` ${name} `));
    t.ok(line?.includes(` ${counts}`), `demo:data: "${name}" failed with ${counts}: ${line}`);
  }
  t.match(text, /"ssn":"\*\*\*-\*\*-67\d\d"/, 'SSN samples are masked by ssn_last4');
  for (let id = 1; id <= CLIENTS; id++) t.notOk(text.includes(ssnOf(id)), `the SSN of client ${id} is nowhere in clear`);
  const failedLines = text.split('\n').filter((l) => /^ {2}failed /.test(l)).length;
  t.equal(Number(/open data quality findings: (\d+)/.exec(text)?.[1]), failedLines, 'each failing rule opened one finding');
  t.match(text, /"status": "failed",\s*"rows_checked": 20,\s*"rows_failing": 4,\s*"ratio": 0\.2,/, "the SSN rule's latest result");
  t.match(text, /"status": "open",\s*"severity": "critical",\s*"msg": "data quality rule \\"SSN unique\\"/, 'its finding');
  t.match(text, /"status": 400,\s*"errors": \[\s*\{\s*"location": "body",\s*"field": "definition.sql",\s*"message": "may not contain a subquery"/, 'the sneaky predicate is refused');
  t.match(text, /"status": "complete",\s*"progress": \{\s*"done": 1,\s*"total": 1\s*\}/, 'the on-demand run completed');
  t.match(text, /"name": "SSN unique",\s*"schedule": "0 6 \* \* \*"/, 'the schedule is stored');
}
