/**
 * Issue 13: a file snapshot's observed_at back-dated its evidence. The chain now records when Custos
 * received each item (received_at, the server's clock, in the item hash) beside when it was observed
 * (collected_at), and the export flags the period's items received after the period ended: in the
 * signed manifest, evidence.json/csv and summary.html, and as a warning of the offline verifier.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { canonicalJson, GENESIS, itemHash, sha256, verifyChain } from '../../src/evidence/chain.js';
import { verifyExport } from '../../src/evidence/verify-export.js';
import { evaluateSnapshot, tempDir, testApp } from '../helpers/app.js';
import { download, readZip } from '../helpers/zip.js';

const FROM = '2026-01-01T00:00:00.000Z';
const TO = '2026-04-01T00:00:00.000Z';
const snapshot = (observed_at: string) => ({ observed_at, resources: [], findings: [], lake_formation: { permissions: [] } });

t.test('a snapshot back-dated into a past period is flagged as received after the period ended', async (t) => {
  const api = await testApp(t);
  const before = new Date().toISOString();
  await evaluateSnapshot(api, snapshot('2026-02-15T09:00:00.000Z'));

  // Each item says both when it was observed (the file's word) and when Custos received it (its own).
  const items = (await api.call('GET', `/v1/evidence?from=${FROM}&to=${TO}&limit=500`, { as: 'auditor' })).body.items;
  t.ok(items.length > 0, 'the import made evidence in the past period');
  for (const item of items) {
    t.equal(item.collected_at, '2026-02-15T09:00:00.000Z');
    t.ok(item.received_at >= before, `item ${item.seq}: received now (${item.received_at}), not when it claims`);
  }
  t.match(await verifyChain(api.app.db), { ok: true });

  const response = await download(api, `/v1/evidence/export?from=${FROM}&to=${TO}&controls=CC6.1,CC7.2`);
  t.equal(response.status, 200);
  const files = await readZip(response.bytes);
  const manifest = JSON.parse(files.get('manifest.json')!.toString());
  const inPeriod = manifest.chain.items_in_period;
  t.ok(inPeriod > 0);
  t.match(manifest.chain, { ok: true }, 'late evidence is not an integrity failure');
  t.equal(manifest.received_after_period.count, inPeriod, 'every item of the period was received after it ended');
  t.equal(manifest.received_after_period.items.length, inPeriod);
  t.match(manifest.received_after_period.items[0], { collected_at: '2026-02-15T09:00:00.000Z', received_at: String });

  const evidence = JSON.parse(files.get('controls/CC6.1/evidence.json')!.toString());
  t.ok(evidence.length > 0);
  for (const item of evidence) t.match(item, { received_after_period: true, received_at: String }, `CC6.1 item ${item.seq} flagged`);
  const csv = files.get('controls/CC6.1/evidence.csv')!.toString().trim().split('\n');
  t.match(csv[0], /,received_at,received_after_period$/);
  t.match(csv[1], /,true$/);
  t.match(files.get('chain.csv')!.toString().split('\n')[0], /,received_at$/);
  t.match(files.get('summary.html')!.toString(), new RegExp(`Warning:</strong> ${inPeriod} item\\(s\\) dated in the period`));

  // The offline verifier: the export is authentic and whole (ok), and says so out loud.
  const key = (await api.call('GET', '/v1/evidence/public-key', { as: 'auditor' })).body.public_key_pem as string;
  const result = await verifyExport(response.bytes, key);
  t.match(result, { ok: true, problems: [], received_after_period: inPeriod });
  t.match(result.warnings, [new RegExp(`^${inPeriod} evidence item\\(s\\) of the period were received after the period ended`)]);
  const dir = await tempDir('custos-late-');
  await fs.writeFile(path.join(dir, 'export.zip'), response.bytes);
  await fs.writeFile(path.join(dir, 'custos.pem'), key);
  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/evidence-verify.ts', '--export', path.join(dir, 'export.zip'), '--public-key', path.join(dir, 'custos.pem')], { encoding: 'utf8' });
  t.equal(cli.status, 0, cli.stderr);
  t.match(cli.stderr, /custos evidence:verify: WARNING: \d+ evidence item\(s\) of the period were received after the period ended/);
  t.match(JSON.parse(cli.stdout), { ok: true, received_after_period: inPeriod });

  // Evidence observed and received within a period is not flagged.
  await evaluateSnapshot(api, snapshot(new Date().toISOString()));
  const current = await download(api, `/v1/evidence/export?from=${new Date(Date.now() - 3600_000).toISOString()}&to=${new Date(Date.now() + 3600_000).toISOString()}&controls=CC6.1`);
  const currentManifest = JSON.parse((await readZip(current.bytes)).get('manifest.json')!.toString());
  t.ok(currentManifest.chain.items_in_period > 0);
  t.match(currentManifest.received_after_period, { count: 0, items: [], received_at_unknown: 0 });
  t.match(await verifyExport(current.bytes, key), { ok: true, warnings: [], received_after_period: 0 });
});

t.test('received_at is in the item hash when present; items chained before it keep their hashes', async (t) => {
  const fields = { id: '0190a8d2-7c1e-7000-8000-000000000001', control_id: 'CC6.1', kind: 'collection', source_id: 'run', collected_at: '2026-02-15T09:00:00.000Z', bundle_revision: null, body_sha256: sha256('{}') };
  const legacy = sha256(`${GENESIS}\n${canonicalJson(fields)}`);
  t.equal(itemHash(GENESIS, fields), legacy, 'no received_at: the hash of before');
  t.equal(itemHash(GENESIS, { ...fields, received_at: null }), legacy, 'null received_at: the hash of before');
  const received = itemHash(GENESIS, { ...fields, received_at: '2026-12-02T00:00:00.000Z' });
  t.not(received, legacy);
  t.not(itemHash(GENESIS, { ...fields, received_at: '2026-03-01T00:00:00.000Z' }), received, 'an edited received_at changes the hash');

  // A legacy item (no received_at) followed by a new one: the whole chain verifies.
  const api = await testApp(t);
  const body = { legacy: true };
  const row = { ...fields, body_sha256: sha256(canonicalJson(body)) };
  const hash = itemHash(GENESIS, row);
  const last = await api.app.db('evidence_items').max('seq as seq').first();
  t.equal(last?.seq ?? null, null, 'an empty chain');
  await api.app.db.raw(
    `INSERT INTO evidence_items (seq, id, control_id, kind, source_id, collected_at, bundle_revision, body, body_store, body_sha256, prev_hash, hash)
     OVERRIDING SYSTEM VALUE VALUES (1, ?, ?, ?, ?, ?, NULL, ?::jsonb, 'postgres', ?, ?, ?)`,
    [row.id, row.control_id, row.kind, row.source_id, row.collected_at, canonicalJson(body), row.body_sha256, GENESIS, hash],
  );
  t.match(await verifyChain(api.app.db), { ok: true, items: 1 });
  await evaluateSnapshot(api, snapshot(new Date().toISOString()));
  const verified = await verifyChain(api.app.db);
  t.ok(verified.ok && verified.items > 1, `legacy and new items verify together (${verified.items})`);
});

t.test('a snapshot observed in the future is refused: it would date evidence into a period not begun', async (t) => {
  const api = await testApp(t);
  const future = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot: snapshot(new Date(Date.now() + 86_400_000).toISOString()) } });
  t.equal(future.status, 400);
  t.match(future.body, { type: '/problems/invalid-snapshot', errors: [{ field: 'snapshot.observed_at', message: /must not be more than 5 minutes in the future/ }] });
  t.equal((await api.app.db('evidence_items').count('* as n').first())!.n, 0, 'nothing stored');
  const skewed = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot: snapshot(new Date(Date.now() + 60_000).toISOString()) } });
  t.equal(skewed.status, 201, 'a minute of clock skew is accepted');
});
