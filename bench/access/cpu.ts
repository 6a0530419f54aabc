/**
 * CPU time of the bench's processes, read from /proc (Linux): on a machine shared with other work
 * the requests per second of one run say little, but the CPU time each decision costs each
 * process (Custos's event loop, its other threads, its PostgreSQL, OPA) is much steadier. Elsewhere
 * than Linux the figures are absent (null), never made up.
 */
import fs from 'node:fs';

const TICK_US = 1e6 / 100; // USER_HZ is 100 on every Linux the bench runs on (getconf CLK_TCK)

/** utime + stime of one process or thread, in µs; null when it cannot be read. */
function ticks(file: string): number | null {
  try {
    const stat = fs.readFileSync(file, 'utf8');
    // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return null;
  }
}

/** The process and every descendant of it (e.g. Custos's embedded PostgreSQL and its backends). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(Number(entry));
    } catch {
      // ended meanwhile
    }
  }
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

export interface CpuSample {
  /** The process's main thread (the event loop), µs. */
  main: number;
  /** All its threads, µs. */
  all: number;
  /** Its descendants (for Custos: PostgreSQL), µs, counting those alive at both ends. */
  children: Map<number, number>;
}

export function sampleCpu(pid: number): CpuSample | null {
  if (!fs.existsSync(`/proc/${pid}/stat`)) return null;
  const main = ticks(`/proc/${pid}/task/${pid}/stat`);
  const all = ticks(`/proc/${pid}/stat`);
  if (main === null || all === null) return null;
  const children = new Map<number, number>();
  for (const child of descendants(pid)) {
    const t = ticks(`/proc/${child}/stat`);
    if (t !== null) children.set(child, t);
  }
  return { main, all, children };
}

/** CPU µs spent between two samples: event loop, other threads, descendants. */
export function cpuBetween(before: CpuSample | null, after: CpuSample | null): { main: number; threads: number; children: number } | null {
  if (!before || !after) return null;
  let children = 0;
  for (const [pid, t] of after.children) children += t - (before.children.get(pid) ?? 0);
  return { main: after.main - before.main, threads: after.all - after.main - (before.all - before.main), children };
}
