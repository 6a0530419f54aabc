/**
 * `npm run test:rego`: opa test over rego/ with coverage; fails under 90% of the policy files' lines
 * (not counting _test.rego) or on any failing test.
 * Prints each file's coverage below 100% so gaps are easy to find.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const THRESHOLD = 90;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const opa = process.env.OPA ?? execFileSync('bash', [path.join(root, 'scripts/install-opa.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();

const tests = spawnSync(opa, ['test', 'rego', '-v'], { cwd: root, encoding: 'utf8' });
process.stdout.write(tests.stdout.split('\n').filter((line) => /^(PASS|FAIL|ERROR)|^data\.|FAIL/.test(line) || line.includes('---')).join('\n') + '\n');
if (tests.status !== 0) {
  process.stderr.write(tests.stdout + tests.stderr);
  process.exit(1);
}
const report = JSON.parse(execFileSync(opa, ['test', 'rego', '--coverage'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
type Range = { start: { row: number }; end: { row: number } };
type FileCoverage = { coverage?: number; covered?: Range[]; not_covered?: Range[] };
const lines = (ranges: Range[] | undefined) => (ranges ?? []).reduce((n, r) => n + r.end.row - r.start.row + 1, 0);
// The gate counts policy files only: _test.rego files are always fully "covered" by running, which
// would lift a poorly tested policy over the threshold.
let covered = 0;
let total = 0;
for (const [file, entry] of Object.entries(report.files as Record<string, FileCoverage>)) {
  if (file.endsWith('_test.rego')) continue;
  const yes = lines(entry.covered);
  const no = lines(entry.not_covered);
  covered += yes;
  total += yes + no;
  const percent = yes + no === 0 ? 100 : (100 * yes) / (yes + no);
  if (percent < 100) console.log(`coverage ${percent.toFixed(1)}% ${file}`);
}
const coverage = total === 0 ? 0 : (100 * covered) / total;
console.log(`rego coverage of policy files ${coverage.toFixed(1)}% (threshold ${THRESHOLD}%; opa's figure with tests: ${Number(report.coverage).toFixed(1)}%)`);
if (coverage < THRESHOLD) process.exit(1);
