/**
 * Issue 13: hostile policy bundles. Uploads are read, compiled and test-evaluated in a worker
 * thread with time and memory limits; an overrun kills that thread and the upload is refused (400),
 * nothing stored, while the service keeps answering.
 */
import fs from 'node:fs/promises';
import { createGzip } from 'node:zlib';
import tarStream from 'tar-stream';
import t from 'tap';
import { PolicyEngine } from '../../src/policy/engine.js';
import { ACCESS_DECISION } from '../../src/policy/entrypoints.js';
import { MAX_ENTRIES } from '../../src/policy/bundle.js';
import { PolicyWorkers } from '../../src/policy/workers.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { SHIPPED, shippedAsRevision, tar } from '../helpers/bundles.js';
import { busiestThread, busyCores, LOOPING_WASM, loopingBundle, processThreads, slowestHealthProbe } from '../helpers/hostile.js';

const HEALTH_BOUND_MS = 2_000;

async function upload(address: string, api: TestApp, archive: Buffer) {
  const response = await fetch(`${address}/v1/policy-bundles`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.keys.compliance_officer}`, 'content-type': 'application/gzip' },
    body: new Uint8Array(archive),
  });
  return { status: response.status, type: response.headers.get('content-type') ?? '', body: await response.json() };
}

/** A tar.gz of `count` entries of `size` zero bytes, streamed: it is small, what it expands to is not. */
async function zeros(count: number, size: number): Promise<Buffer> {
  const pack = tarStream.pack();
  const gzip = createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => gzip.on('data', (c: Buffer) => chunks.push(c)).on('end', resolve).on('error', reject));
  pack.pipe(gzip);
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < count; i++) {
    const entry = pack.entry({ name: `zeros-${i}.json`, size });
    for (let written = 0; written < size; written += block.length) {
      if (!entry.write(block.subarray(0, Math.min(block.length, size - written)))) await new Promise<void>((r) => entry.once('drain', () => r()));
    }
    await new Promise<void>((r) => entry.end(() => r()));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

t.test('a bundle whose Wasm start function loops forever is refused, and nothing stalls', async (t) => {
  const api = await testApp(t);
  const address = await api.app.listen({ port: 0, host: '127.0.0.1' });
  const archive = await loopingBundle();
  t.ok(archive.length < 400, `the bundle is ${archive.length} bytes`);
  const before = (await api.call('GET', '/v1/policy-bundles', { as: 'auditor' })).body.items.length;

  let inspecting = true;
  const uploading = upload(address, api, archive).finally(() => (inspecting = false));
  // On Linux the inspecting thread runs at the lowest priority (src/policy/thread-priority.ts), so
  // the event loop wins the CPU from it on a busy machine (issue 13's /healthz figure).
  const lowered = (async () => {
    while (process.platform === 'linux' && inspecting) {
      const threads = await processThreads();
      const low = threads.filter((th) => th.nice === 19);
      if (low.length) return { low, main: threads.find((th) => th.tid === process.pid) };
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const { result, slowestMs } = await slowestHealthProbe(address, uploading);
  if (process.platform === 'linux') {
    const seen = await lowered;
    t.equal(seen?.low.length, 1, `while the bundle was checked, one thread (the inspector) ran at niceness 19: ${JSON.stringify(seen?.low)}`);
    t.not(seen?.low[0]?.tid, process.pid, 'a worker thread');
    t.equal(seen?.main?.nice, 0, 'the event loop kept its priority');
  }
  t.equal(result.status, 400);
  t.match(result.type, /application\/problem\+json/);
  t.match(result.body, { type: /invalid-bundle/, detail: /took longer than \d+ ms and was stopped/ });
  t.ok(slowestMs < HEALTH_BOUND_MS, `/healthz answered within ${Math.round(slowestMs)} ms while the bundle was checked`);
  t.equal((await api.call('GET', '/v1/policy-bundles', { as: 'auditor' })).body.items.length, before, 'nothing stored');
  t.equal((await api.call('GET', '/v1/policies', { as: 'auditor' })).status, 200, 'the active bundle still serves');
  // The killed thread was replaced: a valid upload is still checked.
  const again = await upload(address, api, await fs.readFile(SHIPPED));
  t.equal(again.status, 200, 'the shipped bundle (already stored) is recognised');
});

t.test('bundles that expand beyond the caps are refused without holding the memory', async (t) => {
  const api = await testApp(t);
  const address = await api.app.listen({ port: 0, host: '127.0.0.1' });
  // The bundle: 30 zero-filled entries of 32 MiB, under 1 MB compressed.
  const bomb = await zeros(30, 32 * 1024 * 1024 - 1024);
  t.ok(bomb.length < 2 * 1024 * 1024, `${bomb.length} bytes compressed`);
  const rss = process.memoryUsage().rss;
  const refused = await upload(address, api, bomb);
  t.equal(refused.status, 400);
  t.match(refused.body, { type: /invalid-bundle/, detail: /larger than 64 MiB uncompressed/ });
  const grown = (process.memoryUsage().rss - rss) / 1024 / 1024;
  t.ok(grown < 300, `RSS grew by ${Math.round(grown)} MiB (the whole archive expands to 960 MiB)`);

  const many = await tar(new Map(Array.from({ length: MAX_ENTRIES + 1 }, (_, i) => [`/f${i}.rego`, Buffer.from('package x\n')])));
  const tooMany = await upload(address, api, many);
  t.equal(tooMany.status, 400);
  t.match(tooMany.body, { type: /invalid-bundle/, detail: new RegExp(`more than ${MAX_ENTRIES} entries`) });
});

t.test('on a machine whose cores are all busy, a bundle is still checked: its budget is CPU, not waiting', async (t) => {
  // CI failure of stop 27: three test files on two cores starved the inspection thread (niceness
  // 19) past 10 s of wall time on a check that needs 0.4 s of CPU, and the bomb was refused as
  // "took longer than 10000 ms" instead of for its size.
  const api = await testApp(t);
  const address = await api.app.listen({ port: 0, host: '127.0.0.1' });
  const bomb = await zeros(3, 32 * 1024 * 1024 - 1024);
  const stop = await busyCores(2);
  t.teardown(stop);
  const refused = await upload(address, api, bomb);
  t.equal(refused.status, 400);
  t.match(refused.body, { type: /invalid-bundle/, detail: /larger than 64 MiB uncompressed/ }, 'refused for its size');
  const valid = await upload(address, api, await shippedAsRevision(`busy-${Date.now()}`));
  t.equal(valid.status, 201, `a valid bundle is checked and stored: ${JSON.stringify(valid.body).slice(0, 300)}`);
  await stop();
});

t.test('a decision that overruns its time budget: the thread is replaced and the answer is an error (callers deny)', async (t) => {
  const workers = new PolicyWorkers({ threads: 1, budgetMs: 3_000 });
  t.teardown(() => workers.close());
  // The looping module reaches a decision thread only by bypassing the checks an upload goes through.
  const looping = PolicyEngine.fromInspection(workers, { sha256: 'loop', manifest: { revision: 'loop' }, wasm: LOOPING_WASM, data: {}, entrypoints: [ACCESS_DECISION], rules: [] });
  const started = Date.now();
  const evaluating = looping.evaluateMany(ACCESS_DECISION, [{}]);
  if (process.platform === 'linux') {
    // Decision threads keep the normal priority: they answer callers waiting now.
    const thread = await busiestThread(1000);
    t.ok(thread && thread.tid !== process.pid, `the loop spins in a decision thread (${JSON.stringify(thread)})`);
    t.equal(thread?.nice, 0, 'which keeps niceness 0');
  }
  const [outcome] = await evaluating;
  t.match(outcome, { error: /took longer than 3000 ms and was stopped/ });
  t.ok(Date.now() - started < 30_000, 'stopped, not hung');
  const engine = await PolicyEngine.load(workers, await fs.readFile(SHIPPED));
  const [answer] = await engine.evaluateMany(ACCESS_DECISION, [{ principal: 'x', action: 'select', resource: { store: 'aurora', database: 'd', table: 't' }, purpose: 'p', now: 0 }]);
  t.match(answer, { defined: true, result: { decision: 'deny' } }, 'the pool answers again');
});

t.test('decisions queued behind an overrunning one on the same thread are answered by its replacement, not failed', async (t) => {
  const workers = new PolicyWorkers({ threads: 1, budgetMs: 2_000 });
  t.teardown(() => workers.close());
  const looping = PolicyEngine.fromInspection(workers, { sha256: 'loop', manifest: { revision: 'loop' }, wasm: LOOPING_WASM, data: {}, entrypoints: [ACCESS_DECISION], rules: [] });
  const engine = await PolicyEngine.load(workers, await fs.readFile(SHIPPED));
  const check = { principal: 'x', action: 'select', resource: { store: 'aurora', database: 'd', table: 't' }, purpose: 'p', now: 0 };
  // One thread: the second group waits behind the loop on it.
  const stuck = looping.evaluateMany(ACCESS_DECISION, [{}]);
  await new Promise((resolve) => setImmediate(resolve));
  const behind = engine.evaluateMany(ACCESS_DECISION, [check, check]);
  t.match(await stuck, [{ error: /took longer than 2000 ms and was stopped/ }]);
  t.match(await behind, [{ defined: true, result: { decision: 'deny' } }, { defined: true, result: { decision: 'deny' } }], 'answered by the new thread');
});
