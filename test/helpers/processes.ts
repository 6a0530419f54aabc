import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * Starts a helper server (moto_server, …) that ends with this test process however it ends: it runs
 * in its own process group, which is killed on a normal exit (`exit` handlers run even after an
 * unhandled error), and a small watchdog kills the group when this process is gone without running
 * them (SIGKILL, tap's timeout SIGTERM).
 */
export function spawnTied(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  const group = child.pid;
  if (group === undefined) return child; // spawn failed: its 'error' event says why
  const killGroup = () => {
    try {
      process.kill(-group, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.once('exit', killGroup);
  child.once('exit', () => process.removeListener('exit', killGroup));
  const watchdog = spawn(
    '/bin/sh',
    ['-c', 'while kill -0 "$1" 2>/dev/null && kill -0 -"$2" 2>/dev/null; do sleep 1; done; kill -TERM -"$2" 2>/dev/null; exit 0', 'watchdog', String(process.pid), String(group)],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  return child;
}

/**
 * An endpoint where nothing listens, for tests of a source that is down. Port 1 is below the range
 * the kernel hands out to `listen(0)` and to outgoing connections, so no other test's server or
 * client can take it: a port found free and then left unbound was once taken by another file's proxy
 * while a test still aimed at it, and that proxy counted the stray requests.
 */
export const CLOSED_ENDPOINT = 'http://127.0.0.1:1';
