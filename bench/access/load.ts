/**
 * The load generator of `npm run bench:access`, in a process of its own so it does not share an
 * event loop with the server it measures. Reads one JSON job from argv ({ url, headers, body,
 * seconds, connections }), runs autocannon, prints one JSON line with the figures.
 */
import autocannon from 'autocannon';

const job = JSON.parse(process.argv[2]!) as { url: string; headers: Record<string, string>; body: string; seconds: number; connections: number };
const cpu = process.cpuUsage();
const result = await autocannon({ url: job.url, method: 'POST', connections: job.connections, duration: job.seconds, headers: job.headers, body: job.body });
console.log(
  JSON.stringify({
    rps: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    p999: result.latency.p99_9 ?? result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    // This process's own CPU time, µs: the load generator shares the machine with what it measures.
    cpuUs: ((used) => used.user + used.system)(process.cpuUsage(cpu)),
  }),
);
