import { execFileSync } from 'node:child_process';
import type { Test } from 'tap';
import { spawnTied } from './processes.js';
import { MOTO_ACCOUNT, motoClient } from '../../src/demo/aws-estate.js';

export { MOTO_ACCOUNT, motoClient };
import { collectorContext } from '../../src/sources/aws.js';
import type { CollectorContext } from '../../src/sources/types.js';

export const IN_CI = process.env.CI === 'true';

// The SDK signs every request (SigV4); moto accepts any credentials but wants some.
process.env.AWS_ACCESS_KEY_ID = 'testing';
process.env.AWS_SECRET_ACCESS_KEY = 'testing';
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_PROFILE;

function which(command: string): string | undefined {
  try {
    return execFileSync('which', [command], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The moto_server binary, or undefined where it is not installed. */
export const MOTO_SERVER = process.env.MOTO_SERVER ?? which('moto_server');

/**
 * The `skip` option of tests that need moto: off CI a machine without it skips them with the way to
 * install it; in CI nothing is skipped, and `startMoto` fails the test.
 */
export const motoSkip: string | false =
  MOTO_SERVER || IN_CI ? false : "moto_server is not installed (pip install 'moto[server]'); this machine skips the tests that run against moto";

export interface Moto {
  endpoint: string;
  /** Clears all of moto's state (POST /moto-api/reset). */
  reset(): Promise<void>;
}

/**
 * Starts moto_server on a loopback port the kernel picks (`-p 0`; its start-up line names it) for the
 * test `t`; it is stopped on t's teardown. A port chosen here and bound later by moto could be taken
 * in between (CI runs many files at once), and a moto that failed to bind would leave this test
 * talking to another file's moto.
 */
export async function startMoto(t: Test): Promise<Moto> {
  if (!MOTO_SERVER) throw new Error(`moto_server is required${IN_CI ? ' in CI' : ''}: pip install 'moto[server]'`);
  // Tied to this process: a test that dies (unhandled error, tap's timeout) leaves no moto_server behind.
  const child = spawnTied(MOTO_SERVER, ['-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  let endpoint = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
    endpoint ||= /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(log)?.[1] ?? '';
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${log}`);
    if (endpoint) {
      try {
        const response = await fetch(`${endpoint}/moto-api/`);
        await response.arrayBuffer();
        if (response.ok) break;
      } catch {
        // not answering yet
      }
    }
    if (Date.now() > deadline) throw new Error(`moto_server did not answer${endpoint ? ` on ${endpoint}` : ''} within 30 s: ${log}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    endpoint,
    async reset() {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`moto reset answered ${response.status}`);
    },
  };
}

/** A collector context for moto's account in `region`, as the jobs build it. */
export function motoContext(endpoint: string, options: { region?: string; now?: number; since?: number; maxAttempts?: number } = {}): CollectorContext {
  return collectorContext(
    { account: MOTO_ACCOUNT, region: options.region ?? 'us-east-1' },
    { endpoint, now: options.now ?? Math.floor(Date.now() / 1000), since: options.since, maxAttempts: options.maxAttempts },
  );
}

