/**
 * `npm run bench:healthz`: how long GET /healthz takes while each heavy request of issue 13 is in
 * flight (the issue's figure: 100 ms). Custos runs in a process of its own (bench/healthz/server.ts);
 * this process sends one heavy request at a time and probes /healthz every 10 ms until it is
 * answered, then prints the probes' median, p99 and slowest latency per request, the longest stall
 * of Custos's event loop meanwhile (measured in its process), and the request's status (each must be
 * refused with a 4xx, or answered, never a 5xx). `npm run bench:healthz -- loops` runs only the
 * requests whose name contains the words given (and idle).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import readline from 'node:readline';
import { createGzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { MAX_BATCH_COLUMNS } from '../src/access/decisions.js';
import { loopingBundle } from '../test/helpers/hostile.js';

const TARGET_MS = 100;
const child = spawn(process.execPath, ['--import', 'tsx', 'bench/healthz/server.ts'], { stdio: ['pipe', 'pipe', 'inherit'] });
process.on('exit', () => child.exitCode === null && child.kill('SIGTERM'));
const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
const exited = new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`the Custos bench server exited (${code ?? signal})`))));
child.stdin!.on('error', () => {}); // a server that died is reported by `exited`
exited.catch(() => {});
const nextLine = async () => (await Promise.race([lines.next(), exited])).value as string;
const { url, keys } = JSON.parse(await nextLine()) as { url: string; keys: Record<'pipeline' | 'compliance_officer', string> };
/** The server's own event loop delay since the last call (max, p99 in ms). */
const loopDelay = async () => {
  child.stdin!.write('report\nreset\n');
  return JSON.parse(await nextLine()) as { max: number; p99: number };
};

/**
 * The status of a POST. node:http rather than fetch: Custos answers a body over its limit with a
 * 413 before it has read it all and closes the connection, which fetch reports as EPIPE, not as the
 * answer.
 */
function post(path: string, role: keyof typeof keys, body: string | Uint8Array<ArrayBuffer>, type = 'application/json') {
  return new Promise<number>((resolve, reject) => {
    let status: number | undefined;
    const request = http.request(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${keys[role]}`, 'content-type': type } }, (response) => {
      status = response.statusCode!;
      response.resume().on('end', () => resolve(status!)).on('error', () => resolve(status!));
    });
    request.on('error', (error) => (status === undefined ? reject(error) : resolve(status)));
    request.end(body);
  });
}

/** /healthz latencies (ms) while `work` runs, one probe at a time, 10 ms apart. */
async function probeDuring(work: () => Promise<number>) {
  const latencies: number[] = [];
  let done = false;
  const probing = (async () => {
    while (!done) {
      const started = performance.now();
      await (await fetch(`${url}/healthz`)).arrayBuffer();
      latencies.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  await loopDelay();
  const started = performance.now();
  const status = await work().finally(() => (done = true));
  const ms = performance.now() - started;
  await probing;
  const loop = await loopDelay();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { status, ms, probes: latencies.length, p50: at(0.5), p99: at(0.99), max: latencies[latencies.length - 1]!, loop: loop.max };
}

/** A tar.gz of `count` entries of `size` zero bytes: small to send, large once expanded. */
async function zeros(count: number, size: number): Promise<Buffer> {
  const pack = tarStream.pack();
  const gzip = createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => gzip.on('data', (c: Buffer) => chunks.push(c)).on('end', resolve).on('error', reject));
  pack.pipe(gzip);
  for (let i = 0; i < count; i++) pack.entry({ name: `zeros-${i}.json` }, Buffer.alloc(size));
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const check = (columns: number) => ({
  principal: 'arn:aws:iam::111122223333:role/market-data',
  action: 'select',
  resource: { store: 'aurora', database: 'wealth', table: 'securities_master', columns: Array.from({ length: columns }, (_, i) => `c${i}`) },
  purpose: 'pricing',
});
let nested = '1';
for (let i = 0; i < 6000; i++) nested = `{"a":${nested}}`;

// Each request's body is built before its probing starts, so only Custos's work is measured.
type Scenario = [string, () => Promise<() => Promise<number>>];
const batch = (columns: number) => JSON.stringify({ checks: Array.from({ length: 1000 }, () => check(columns)) });
const scenarios: Scenario[] = [
  ['idle (2 s)', async () => async () => (await new Promise((r) => setTimeout(r, 2000)), 0)],
  ['access batch 1,000 checks × 1,000 columns', async () => { const body = batch(1000); return () => post('/v1/access/decisions:batch', 'pipeline', body); }],
  [`access batch at the bound (${MAX_BATCH_COLUMNS.toLocaleString('en')} column checks)`, async () => { const body = batch(MAX_BATCH_COLUMNS / 1000); return () => post('/v1/access/decisions:batch', 'pipeline', body); }],
  ['bundle whose Wasm start function loops forever', async () => { const body = new Uint8Array(await loopingBundle()); return () => post('/v1/policy-bundles', 'compliance_officer', body, 'application/gzip'); }],
  ['bundle of 30 zero-filled 4 MiB entries (120 MiB expanded)', async () => { const body = new Uint8Array(await zeros(30, 4 * 1024 * 1024)); return () => post('/v1/policy-bundles', 'compliance_officer', body, 'application/gzip'); }],
  ['snapshot of 500,000 empty findings', async () => { const body = `{"source":"file","snapshot":{"resources":[],"lake_formation":{"permissions":[]},"findings":[${Array(500_000).fill('{}').join(',')}]}}`; return () => post('/v1/collections', 'compliance_officer', body); }],
  ['JSON nested 6,000 levels', async () => () => post('/v1/collections', 'compliance_officer', nested)],
];

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(`/healthz latency while each heavy request is in flight (target ${TARGET_MS} ms)`);
console.log(`(loop ms: the longest stall of Custos's event loop during the request, measured in its process; a probe slower than that waited for the CPU, not for Custos)`);
console.log(`${'request'.padEnd(60)} ${pad('status', 6)} ${pad('took ms', 8)} ${pad('probes', 6)} ${pad('p50 ms', 7)} ${pad('p99 ms', 7)} ${pad('max ms', 7)} ${pad('loop ms', 7)}  within ${TARGET_MS} ms`);
// `npm run bench:healthz -- <words>`: only the requests whose name contains them (and idle).
const only = process.argv.slice(2).join(' ');
for (const [name, prepare] of scenarios.filter(([name]) => !only || name.startsWith('idle') || name.includes(only))) {
  const r = await probeDuring(await prepare());
  console.log(`${name.padEnd(60)} ${pad(r.status || '-', 6)} ${pad(Math.round(r.ms), 8)} ${pad(r.probes, 6)} ${pad(r.p50.toFixed(1), 7)} ${pad(r.p99.toFixed(1), 7)} ${pad(r.max.toFixed(1), 7)} ${pad(r.loop.toFixed(1), 7)}  ${r.max <= TARGET_MS ? 'yes' : 'NO'}`);
}
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
