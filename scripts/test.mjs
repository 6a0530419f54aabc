// `npm test`: runs tap with the arguments given, passing its output through, and when it fails
// repeats every failing assertion (its `not ok` line and diagnostics) at the very end. A CI log
// often shows only its tail, and a failure deep in 12,000 lines of TAP is otherwise lost there.
import { spawn } from 'node:child_process';
import readline from 'node:readline';

const child = spawn('tap', process.argv.slice(2), { stdio: ['inherit', 'pipe', 'inherit'] });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));

/** Each failure: its `not ok` line, the subtests it sits in, and its YAML diagnostics (bounded). */
const failures = [];
const path = [];
let current;
readline.createInterface({ input: child.stdout }).on('line', (line) => {
  process.stdout.write(line + '\n');
  const indent = line.length - line.trimStart().length;
  const subtest = /^\s*# Subtest: (.*)$/.exec(line);
  if (subtest) {
    path.length = indent / 4;
    path.push(subtest[1]);
    current = undefined;
    return;
  }
  if (/^\s*not ok \d+/.test(line)) {
    // A subtest's or file's own `not ok` (it carries `# time=`) only repeats its assertions' failure:
    // its line is kept, its diagnostics are not.
    const summary = / # time=/.test(line);
    const failure = { where: path.slice(0, indent / 4).join(' > '), lines: [line.trim()], summary };
    failures.push(failure);
    current = summary ? undefined : failure;
    return;
  }
  if (current && current.lines.length < 60 && (/^\s*(---|\.\.\.)\s*$/.test(line) || indent > 0)) {
    current.lines.push(line);
    if (/^\s*\.\.\.\s*$/.test(line)) current = undefined;
  } else current = undefined;
});

child.on('close', (code, signal) => {
  if (code !== 0) {
        process.stdout.write(`\n== npm test failed (tap exit ${code ?? signal}); the failing assertions, as above:\n`);
    if (failures.length === 0) process.stdout.write('(no `not ok` line: tap itself failed, see its output above)\n');
    for (const failure of failures.filter((f) => !f.summary)) process.stdout.write(`\n-- ${failure.where || '(top level)'}\n${failure.lines.join('\n')}\n`);
    const summaries = failures.filter((f) => f.summary);
    if (summaries.length) process.stdout.write(`\nfailing subtests and files:\n${summaries.map((f) => `  ${f.where ? f.where + ' > ' : ''}${f.lines[0]}`).join('\n')}\n`);
  }
  process.exit(code ?? 1);
});
