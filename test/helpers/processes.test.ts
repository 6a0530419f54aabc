import { spawn } from 'node:child_process';
import path from 'node:path';
import t from 'tap';

// Issue 14: a test process that died abnormally left its moto_server children running. Helper
// servers are started with spawnTied (test/helpers/moto.ts uses it); here a stand-in server (sleep)
// must be gone soon after its test process ends in each way a test process ends.
const HELPER = path.resolve('test/helpers/processes.ts');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, seconds: number): Promise<boolean> {
  for (let i = 0; i < seconds * 10; i++) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

for (const [how, script] of [
  ['an unhandled error', `throw new Error('boom');`],
  ['SIGKILL (no exit handlers run)', `process.kill(process.pid, 'SIGKILL');`],
  ['SIGTERM, as tap’s timeout sends', `process.kill(process.pid, 'SIGTERM');`],
  ['a normal end', ``],
] as const) {
  t.test(`a helper server ends with its test process: ${how}`, async (t) => {
    const code = `import { spawnTied } from ${JSON.stringify(HELPER)};
const server = spawnTied('sleep', ['300'], { stdio: 'ignore' });
process.stdout.write(String(server.pid) + '\\n');
await new Promise((r) => setTimeout(r, 300));
${script}
server.unref();`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout!.on('data', (chunk) => (out += chunk));
    await new Promise((r) => child.on('exit', r));
    const pid = Number(out.trim().split('\n')[0]);
    t.ok(pid > 0, 'the server was started');
    t.ok(await gone(pid, 10), 'and is gone within seconds of the test process');
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
}
