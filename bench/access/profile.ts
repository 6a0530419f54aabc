/**
 * Where the event loop's time goes in a decision request, from a V8 CPU profile of the Custos bench
 * server (BENCH_PROFILE, see bench/access.ts). Each sample is charged to the first frame, from the
 * innermost outwards, that belongs to a known part of the request; Node's own frames and generated
 * code (Ajv validators, fast-json-stringify serialisers, which have no file) are skipped, so their
 * time goes to whoever called them (socket writes to Fastify or to the PostgreSQL client, a
 * generated validator to validation).
 *
 * Run on its own: `tsx bench/access/profile.ts file.cpuprofile [event loop µs per decision]`.
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

// First match wins, so the more specific parts come before Fastify, which calls them all.
const PARTS: Array<[string, (url: string, fn: string) => boolean]> = [
  ['body parsing + validation', (u, f) => /secure-json-parse|src\/http\/json-body|\/ajv\/|src\/http\/validation|fastify\/lib\/(contentTypeParser|validation)\.js/.test(u) || (/fastify\/lib\//.test(u) && /^(preValidationCallback|validateParam|validate)$/.test(f))],
  ['authentication', (u) => /src\/auth\/|@fastify\/(rate-limit|cookie|csrf-protection)|src\/access\/binding/.test(u)],
  ['decision log', (u, f) => /src\/policy\/decision-log|\/knex\/|\/pg\/|\/pg-protocol\/|\/pg-pool\/|\/tarn\/|\/uuid\/|\/pg-types\/|\/postgres-/.test(u) || f === 'logDecisions'],
  ['policy evaluation (hand-off to the worker threads)', (u, f) => /src\/policy\/(engine|workers)|\/piscina\//.test(u) || (/src\/access\/decisions/.test(u) && /^(decide|accessAnswers|checkCost)$/.test(f))],
  ['response serialisation', (u, f) => /fast-json-stringify|src\/http\/schemas/.test(u) || (/fastify\/lib\//.test(u) && /serializ/i.test(f))],
  ['security headers, request id (hooks)', (u) => /helmet|src\/app\.ts|src\/http\/request-id/.test(u)],
  ['logging', (u) => /\/pino|src\/logging/.test(u)],
  // pg-boss checks its cron schedules on a timer in every instance, whatever the requests.
  ['background jobs (pg-boss schedules)', (u) => /\/pg-boss\/|cron-parser|\/luxon\//.test(u)],
  ['Fastify + Node HTTP (routing, hooks, socket I/O)', (u) => /\/fastify\/|find-my-way|\/avvio\/|fastq|light-my-request|node:_http|node:net/.test(u)],
];
// Anonymous functions of the route's module (callbacks of map and the like) go to their named caller.
const SKIP = (url: string, fn: string) => url === '' || url.startsWith('node:') || (fn === '' && /src\/access\/decisions/.test(url));

export function breakdown(profile: CpuProfile): { busyUs: number; idleUs: number; parts: Array<{ part: string; us: number }> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const stackHas = (id: number, test: (url: string) => boolean) => {
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) if (test(byId.get(n)!.callFrame.url)) return true;
    return false;
  };
  const totals = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of self) {
    const leaf = byId.get(id)!.callFrame;
    // The profiler's own work when it stops (bench/access/server.ts) is not the requests'.
    if (leaf.functionName === '(idle)' || stackHas(id, (url) => url.includes('bench/access/'))) {
      idleUs += us;
      continue;
    }
    busyUs += us;
    let part: string | undefined;
    if (leaf.functionName === '(garbage collector)') part = 'garbage collection';
    for (let n: number | undefined = id; !part && n !== undefined; n = parent.get(n)) {
      const { url, functionName } = byId.get(n)!.callFrame;
      if (SKIP(url, functionName)) continue;
      part = PARTS.find(([, test]) => test(url, functionName))?.[0];
      if (!part && !/node_modules/.test(url) && url) part = 'other Custos code';
    }
    // Nothing known on the stack: a Custos frame skipped above (an async handler resuming), Node's
    // HTTP server on its own (reading a request, finishing a response), or else Node and V8.
    part ??= stackHas(id, (url) => url.includes('/src/'))
      ? 'other Custos code'
      : stackHas(id, (url) => /^node:(_http|net|internal\/streams|internal\/stream_base)/.test(url))
        ? 'Fastify + Node HTTP (routing, hooks, socket I/O)'
        : leaf.functionName === '(program)'
          ? 'V8/Node outside JavaScript'
          : 'Node internals (timers, promise jobs)';
    totals.set(part, (totals.get(part) ?? 0) + us);
  }
  const parts = [...totals].map(([part, us]) => ({ part, us })).sort((a, b) => b.us - a.us);
  return { busyUs, idleUs, parts };
}

/**
 * Lines of text: each part's share of the event loop's busy samples, and that share of the event
 * loop's CPU time per decision when it is known (measured apart, from /proc: on a loaded machine a
 * sample's wall time also counts the time the thread waited for a core).
 */
export function describeBreakdown(profile: CpuProfile, eventLoopUsPerDecision?: number): string[] {
  const { busyUs, parts } = breakdown(profile);
  const per = (us: number) => (eventLoopUsPerDecision === undefined ? '' : `${((us / busyUs) * eventLoopUsPerDecision).toFixed(1).padStart(6)} µs`);
  return parts.map(({ part, us }) => `${((us / busyUs) * 100).toFixed(1).padStart(5)}%  ${per(us)}  ${part}`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/.*\//, ''))) {
  const profile = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as CpuProfile;
  console.log(describeBreakdown(profile, process.argv[3] ? Number(process.argv[3]) : undefined).join('\n'));
}
