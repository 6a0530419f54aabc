import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Test } from 'tap';

/*
 * What the README doc tests share (test/docs/readme.test.ts, test/docs/readme-aws.test.ts): reading
 * the README's shell blocks and running them, in order, in one bash session against a service.
 */

/** The tools the README's blocks call. */
export const README_TOOLS = ['bash', 'curl', 'jq', 'unzip', 'openssl', 'sha256sum'];

/** The README_TOOLS this machine lacks. */
export const missingTools = () => README_TOOLS.filter((tool) => spawnSync('which', [tool]).status !== 0);

export interface Block {
  /** Line of the opening fence in README.md (1-based). */
  line: number;
  code: string;
}

/**
 * The blocks whose fence's info string is exactly `info` (```sh, ```sh aws), in order. Any other
 * info string (```console, ```text, ```sh aws for `info` "sh") is shown, not run.
 */
export function shellBlocks(markdown: string, info = 'sh'): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(.*)$/.exec(lines[i]!);
    if (!fence) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    if (fence[1]!.trim().split(/\s+/).join(' ') === info) blocks.push({ line: start + 1, code: body.join('\n') });
  }
  return blocks;
}

/** Waits until the service's stderr says it listens (the child started by the test). */
export async function untilListening(child: ChildProcess, log: () => string, what: string, seconds = 300): Promise<void> {
  for (let i = 0; !log().includes('Custos is listening'); i++) {
    if (child.exitCode !== null || child.signalCode !== null || i > seconds * 10) throw new Error(`${what} did not start: ${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What a checkout holds that is not the checkout's own: its data directory and test leftovers. */
const NOT_LINKED = new Set(['var', '.git', '.tap', 'coverage', 'test-artifacts', '.schemathesis']);

/**
 * Runs `blocks` in order in one `set -euo pipefail` bash session in `home` (each block starts there;
 * variables carry over), with http://127.0.0.1:8080 replaced by the service's address, and checks
 * that every block ran and that no answer was a 5xx problem. `home` stands for the reader's
 * checkout: its `var/` is the service's data directory and every other top-level entry of this
 * checkout is linked into it, so `npm run <script>` runs there as in a checkout; PORT is the
 * service's port, as the scripts read it.
 */
export async function runBlocks(t: Test, blocks: Block[], options: { home: string; port: number; env?: Record<string, string> }): Promise<string> {
  const { home, port } = options;
  const checkout = path.resolve('.');
  for (const entry of await fs.readdir(checkout)) {
    if (NOT_LINKED.has(entry)) continue;
    await fs.symlink(path.join(checkout, entry), path.join(home, entry)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
  const script = ['set -euo pipefail'];
  for (const [index, block] of blocks.entries()) {
    script.push(`cd ${JSON.stringify(home)}`, `echo "::block ${index + 1} (README.md line ${block.line})"`, block.code.replaceAll('http://127.0.0.1:8080', `http://127.0.0.1:${port}`));
  }
  const file = path.join(home, 'readme.sh');
  await fs.writeFile(file, script.join('\n') + '\n');
  const run = spawn('bash', [file], { cwd: home, env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), ...options.env } });
  let output = '';
  run.stdout.on('data', (chunk) => (output += chunk));
  run.stderr.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => run.on('exit', resolve));
  const last = [...output.matchAll(/::block (\d+) \(README.md line (\d+)\)/g)].at(-1);
  t.equal(code, 0, code === 0 ? 'every block ran' : `README.md line ${last?.[2]} (block ${last?.[1]}) failed:\n${output.slice(-3000)}`);
  t.notMatch(output, /"status":\s*5\d\d/, 'no 5xx answer');
  t.notMatch(output, /"type":\s*"\/problems\/internal-error"/);
  t.comment(output.slice(-1500));
  return output;
}
