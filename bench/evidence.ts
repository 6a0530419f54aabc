/**
 * `npm run bench:evidence`: a year of evidence (100,000 items spread over the catalog's controls and
 * 365 days, bodies of about 1 KiB like real evaluation evidence), exported over HTTP as the auditor's
 * zip and read to the end: export throughput (MB/s, items/s) and peak memory, which must stay flat
 * because the export streams. Sizes can be scaled with BENCH_SCALE=0.1.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildApp } from '../src/app.js';
import { shippedCatalog } from '../src/controls/catalog.js';
import { appendEvidence } from '../src/evidence/chain.js';
import { readZip } from '../src/evidence/verify-export.js';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const ITEMS = Math.round(100_000 * scale);
const ADMIN = 'bench-admin-key-000000000000000';
const START = Date.parse('2025-11-01T00:00:00Z');
const DAY = 86_400_000;

let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'custos-bench-'));
await fs.chmod(dataDir, 0o755);
const app = await buildApp({ config: { dataDir, logLevel: 'silent', adminKey: ADMIN }, announce: () => {}, workers: false });
try {
  const controls = shippedCatalog().controls;
  console.log(`Custos evidence export benchmark — ${ITEMS} evidence items, ${controls.length} controls, 365 days, ${os.cpus().length} CPUs\n`);
  let started = performance.now();
  for (let done = 0; done < ITEMS; done += 1000) {
    const batch = Array.from({ length: Math.min(1000, ITEMS - done) }, (_, j) => {
      const i = done + j;
      const control = controls[i % controls.length]!;
      return {
        control_id: control.id,
        kind: 'evaluation' as const,
        source_id: `bench-evaluation-${Math.floor(i / controls.length)}`,
        collected_at: new Date(START + Math.floor((i / ITEMS) * 365 * DAY)).toISOString(),
        bundle_revision: 'bench',
        body: {
          control: { id: control.id, title: control.title },
          status: i % 7 === 0 ? 'failing' : 'passing',
          reason: 'no open finding of s3.bucket_public_read, s3.bucket_public_write',
          rules: [{ id: 's3.bucket_public_read', title: 'S3 bucket allows public read', severity: 'critical' }],
          checked: { counts: { 'AWS::S3::Bucket': 40 + (i % 13) }, items_sha256: i.toString(16).padStart(64, '0') },
          failing_findings: i % 7 === 0 ? [{ id: `f-${i}`, rule_id: 's3.bucket_public_read', resource_id: `wealth-bucket-${i % 50}`, msg: 'bucket grants AllUsers READ' }] : [],
        },
      };
    });
    await app.db.transaction((trx) => appendEvidence(trx, batch));
  }
  const seedMs = performance.now() - started;
  console.log(`seed (append to the chain):  ${(seedMs / 1000).toFixed(1)} s   ${Math.round(ITEMS / (seedMs / 1000))} items/s`);

  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const baseline = process.memoryUsage().rss;
  peak = baseline;
  started = performance.now();
  const response = await fetch(`${address}/v1/evidence/export?from=2025-11-01T00:00:00Z&to=2026-11-01T00:00:00Z`, { headers: { authorization: `Bearer ${ADMIN}` } });
  if (!response.ok) throw new Error(`export answered ${response.status}: ${await response.text()}`);
  let bytes = 0;
  let firstByteMs = 0;
  const zipPath = path.join(dataDir, 'export.zip');
  const file = await fs.open(zipPath, 'w');
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    if (!bytes) firstByteMs = performance.now() - started;
    bytes += chunk.length;
    await file.write(chunk);
  }
  await file.close();
  const exportMs = performance.now() - started;
  const exportPeak = peak;
  const manifest = JSON.parse((await readZip(zipPath)).get('manifest.json')!.toString());
  const content = manifest.files.reduce((sum: number, f: { bytes: number }) => sum + f.bytes, 0);
  const seconds = exportMs / 1000;
  console.log(`export (zip over HTTP):      ${seconds.toFixed(1)} s   ${Math.round(ITEMS / seconds)} items/s   ${(content / 1e6 / seconds).toFixed(1)} MB/s of content   ${(bytes / 1e6 / seconds).toFixed(1)} MB/s of zip`);
  console.log(`                             ${(content / 1e6).toFixed(1)} MB in ${manifest.files.length} files, ${(bytes / 1e6).toFixed(1)} MB zipped, first byte after ${firstByteMs.toFixed(0)} ms`);
  console.log(`memory:                      RSS before export ${mib(baseline)}, peak during export ${mib(exportPeak)} (+${mib(exportPeak - baseline)})`);
} finally {
  clearInterval(sampler);
  await app.close();
  await fs.rm(dataDir, { recursive: true, force: true });
}
