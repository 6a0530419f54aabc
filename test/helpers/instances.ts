import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { spawnTied } from './processes.js';

const SERVER = path.resolve('src/server.ts');

export interface Instance {
  child: ChildProcess;
  base: string;
  exited: Promise<unknown>;
  stderr(): string;
  /** Calls the instance's API with `key`; the body is parsed when it is JSON. */
  call(method: string, url: string, key: string, body?: unknown): Promise<{ status: number; body: any }>;
}

/**
 * Starts the real service (`src/server.ts` through tsx, as `npm start` runs it) in a child process
 * tied to this one (it dies with it), with `env` on top of a minimal environment, and waits until
 * `/readyz` answers 200. Several on one DATABASE_URL are several Custos instances.
 */
export async function startInstance(env: Record<string, string>, ms = 120_000): Promise<Instance> {
  // PORT=0: the instance binds a port the kernel picks and names it in its start-up banner. A port
  // chosen here and bound seconds later by the child (tsx start-up) was taken in between by another
  // test's outgoing connection in CI ("port … is in use").
  const child = spawnTied(process.execPath, ['--import', 'tsx', SERVER], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1', ...env, PORT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let all = '';
  let base = '';
  child.stderr!.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-8000);
    if (!base) all += chunk;
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const end = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`instance exited before it was ready: ${stderr}`);
    base ||= /Custos is listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(all)?.[1] ?? '';
    if (base && (await fetch(`${base}/readyz`).then((r) => r.status, () => 0)) === 200) break;
    if (Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`instance not ready within ${ms / 1000} s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const call: Instance['call'] = async (method, url, key, body) => {
    const response = await fetch(`${base}${url}`, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: (response.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : text };
  };
  return { child, base, exited, stderr: () => stderr, call };
}

/** Ends an instance: SIGTERM (it drains and closes), SIGKILL if it is still there after `ms`. */
export async function stopInstance(instance: Instance, ms = 30_000): Promise<void> {
  if (instance.child.exitCode !== null || instance.child.signalCode !== null) return;
  instance.child.kill('SIGTERM');
  const timer = setTimeout(() => instance.child.kill('SIGKILL'), ms);
  await instance.exited;
  clearTimeout(timer);
}
