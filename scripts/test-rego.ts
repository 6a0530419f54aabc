/**
 * `npm run test:rego`: opa test over rego/ with coverage; fails under 90% or on any failing test.
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
for (const [file, entry] of Object.entries(report.files as Record<string, { coverage: number }>)) {
  if (!file.endsWith('_test.rego') && entry.coverage < 100) console.log(`coverage ${entry.coverage.toFixed(1)}% ${file}`);
}
const coverage: number = report.coverage;
console.log(`rego coverage ${coverage.toFixed(1)}% (threshold ${THRESHOLD}%)`);
if (coverage < THRESHOLD) process.exit(1);
