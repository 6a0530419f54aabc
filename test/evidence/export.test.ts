import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import { generateKeyPairSync, sign } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import t from 'tap';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { loadDemoData } from '../../src/demo/load.js';
import { appendEvidence, canonicalJson, itemHash, sha256 } from '../../src/evidence/chain.js';
import { verifyBytes } from '../../src/evidence/signing.js';
import { csvField } from '../../src/evidence/export.js';
import { evaluateSnapshot, tempDir, testApp } from '../helpers/app.js';
import { download, extract, readZip, writeZip } from '../helpers/zip.js';
import { keyFingerprint, verifyExport } from '../../src/evidence/verify-export.js';
import { IN_CI } from '../helpers/moto.js';

const evaluate = evaluateSnapshot;

const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const has = (command: string) => {
  try {
    execFileSync('which', [command]);
    return true;
  } catch {
    return false;
  }
};

t.test('the auditor export: every file hashed in a signed manifest, verifiable offline', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  await evaluate(api, wealthEstate);
  // S3 listed completely, no bucket left and the account's Block Public Access on: the public-bucket
  // findings resolve and CC6.6 passes (each of its rules saw what it judges).
  const s3Listed = ['AWS::S3::Bucket', 'AWS::S3::AccountPublicAccessBlock'].map((resource_type) => ({ account: '111122223333', region: 'us-east-1', resource_type, complete: true }));
  const blockPublicAccess = wealthEstate.resources.filter((r) => r.type === 'AWS::S3::AccountPublicAccessBlock');
  await evaluate(api, { observed_at: '2026-11-21T06:00:00.000Z', resources: blockPublicAccess, findings: [], lake_formation: { permissions: [] }, coverage: s3Listed });
  const from = '2026-01-01T00:00:00.000Z';
  const to = new Date(Date.now() + 3_600_000).toISOString();

  const response = await download(api, `/v1/evidence/export?from=${from}&to=${to}&controls=CC6.6,CC6.1,CC1.1`);
  t.equal(response.status, 200);
  t.match(response.headers['content-type'], /application\/zip/);
  t.match(response.headers['content-disposition'], /attachment; filename="custos-evidence-2026-01-01-to-/);
  const files = await readZip(response.bytes);

  // The manifest lists every other file with its SHA-256 and size, and is signed.
  const manifestBytes = files.get('manifest.json')!;
  const manifest = JSON.parse(manifestBytes.toString('utf8'));
  const listed = new Set(manifest.files.map((f: { path: string }) => f.path));
  t.same([...files.keys()].filter((p) => !listed.has(p)).sort(), ['SHA256SUMS', 'manifest.json', 'manifest.sig'], 'everything else is in the manifest');
  for (const file of manifest.files) {
    t.equal(hex(files.get(file.path)!), file.sha256, `${file.path} matches its SHA-256`);
    t.equal(files.get(file.path)!.length, file.bytes);
  }
  const key = (await api.call('GET', '/v1/evidence/public-key', { as: 'auditor' })).body;
  t.equal(manifest.signature.key_id, key.key_id);
  t.ok(verifyBytes(key.public_key_pem, manifestBytes, files.get('manifest.sig')!), 'the signature verifies with the published key');
  const forged = Buffer.from(manifestBytes.toString().replace(manifest.files[1].sha256, '0'.repeat(64)));
  t.notOk(verifyBytes(key.public_key_pem, forged, files.get('manifest.sig')!), 'an edited manifest does not');
  t.equal(files.get('public-key.pem')!.toString(), key.public_key_pem);

  t.match(manifest, {
    format: 'custos-evidence-export/1',
    period: { from, to },
    controls: ['CC1.1', 'CC6.1', 'CC6.6'],
    generated_by: 'test-auditor',
    chain: { ok: true, item_hashes_ok: true, links_ok: true, bodies_ok: true, problems: [] },
  });
  t.equal(manifest.bundle_revisions.length, 1, 'the one bundle revision used');
  const head = (await api.call('POST', '/v1/evidence/verify', { as: 'auditor' })).body.head;
  t.equal(manifest.chain.head.hash, head, 'the chain head at export');

  // Per-control evidence, as JSON and CSV; each item's body and hash re-check.
  const all = JSON.parse(files.get('controls/CC6.6/evidence.json')!.toString());
  t.same(all.map((i: { kind: string }) => i.kind), ['collection', 'evaluation', 'collection', 'evaluation'], 'one item per run and per evaluation');
  t.equal(manifest.evidence_items_per_control['CC6.6'], 4);
  const items = all.filter((i: { kind: string }) => i.kind === 'evaluation');
  for (const item of all) {
    t.equal(sha256(canonicalJson(item.body)), item.body_sha256);
    t.equal(itemHash(item.prev_hash, item), item.hash);
  }
  t.same(items.map((i: { body: { status: string } }) => i.body.status), ['failing', 'passing']);
  const csv = files.get('controls/CC6.6/evidence.csv')!.toString().trim().split('\n');
  t.equal(csv.length, 5);
  t.match(csv[1], /,collection,/);
  t.match(csv[2], /,evaluation,.*,failing,/);
  t.equal(JSON.parse(files.get('controls/CC1.1/evidence.json')!.toString()).length, 0, 'a manual control has no evaluation evidence');
  t.same(JSON.parse(files.get('controls/CC6.6/timeline.json')!.toString()).items.map((i: { status: string }) => i.status), ['failing', 'passing']);
  t.match(JSON.parse(files.get('controls/CC6.6/coverage.json')!.toString()), { control_id: 'CC6.6', days_tested: 1 });
  t.match(files.get('status-timeline.csv')!.toString(), /CC6\.6,[0-9a-f-]+,[^,]+,[^,]+,false,failing,2,0,/);
  t.match(files.get('findings.csv')!.toString(), /s3\.bucket_public_read/);
  t.same(JSON.parse(files.get('exceptions.json')!.toString()), []);
  t.same(JSON.parse(files.get('attestations/attestations.json')!.toString()), []);
  const chainCsv = files.get('chain.csv')!.toString().trim().split('\n');
  t.equal(chainCsv.length - 1, manifest.chain.items_in_chain_csv);
  t.equal(manifest.chain.items_in_chain_csv, manifest.chain.items_in_period, 'every item of this chain lies in the period');
  const oscal = JSON.parse(files.get('oscal/assessment-results.json')!.toString());
  t.ok(oscal['assessment-results'], 'an OSCAL assessment-results document');
  const html = files.get('summary.html')!.toString();
  t.match(html, /<h1>SOC 2 evidence summary<\/h1>/);
  t.match(html, /CC6\.6<\/strong>/);
  t.notMatch(html, /<script/i);

  // The documented offline commands, run as an auditor would.
  const sums = files.get('SHA256SUMS')!.toString();
  t.equal(sums.split('\n').filter(Boolean).length, manifest.files.length + 1, 'SHA256SUMS covers the manifest too');
  // In CI the offline commands must run (.ci/run installs them); elsewhere they are skipped, and said so.
  const tools = ['sha256sum', 'openssl', 'jq'].filter((c) => !has(c));
  if (IN_CI) t.same(tools, [], 'CI has openssl, jq and sha256sum');
  if (tools.length === 0) {
    const dir = await tempDir('custos-export-');
    await extract(files, dir);
    t.match(execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'public-key.pem', '-rawin', '-in', 'manifest.json', '-sigfile', 'manifest.sig'], { cwd: dir, encoding: 'utf8' }), /Signature Verified Successfully/);
    execFileSync('bash', ['-c', `jq -r '.files[] | "\\(.sha256)  \\(.path)"' manifest.json | sha256sum --quiet -c -`], { cwd: dir });
    execFileSync('sha256sum', ['--quiet', '-c', 'SHA256SUMS'], { cwd: dir });
    t.pass('openssl, jq and sha256sum verify the unzipped export');
  } else t.comment(`${tools.join(', ')} missing: the offline commands were not run`);

  // The offline verifier (npm run evidence:verify -- --export): the genuine zip passes, a zip with one
  // file altered, or re-signed with another key, does not.
  const dir = await tempDir('custos-verify-');
  const genuine = path.join(dir, 'genuine.zip');
  await fs.writeFile(genuine, response.bytes);
  const good = await verifyExport(genuine, key.public_key_pem);
  // CC6.6 and CC6.1 each have two run items and two evaluation items; CC1.1 (manual) none.
  t.match(good, { ok: true, signature: 'valid', key_id: key.key_id, files: manifest.files.length, items: 4 + 4 + 0 });
  const altered = new Map(files);
  altered.set('controls/CC6.6/evidence.csv', Buffer.from(files.get('controls/CC6.6/evidence.csv')!.toString().replace('failing', 'passing')));
  const tampered = path.join(dir, 'tampered.zip');
  await writeZip(altered, tampered);
  const bad = await verifyExport(tampered, key.public_key_pem);
  t.equal(bad.ok, false);
  t.ok(bad.problems.includes('controls/CC6.6/evidence.csv: SHA-256 differs from the manifest'), 'names the altered file');
  const { privateKey } = generateKeyPairSync('ed25519');
  const resigned = new Map(files);
  resigned.set('manifest.sig', sign(null, files.get('manifest.json')!, privateKey));
  await writeZip(resigned, tampered);
  t.match(await verifyExport(tampered, key.public_key_pem), { ok: false, signature: 'invalid' }, 'a signature by another key is refused');

  // Recorded in the audit log.
  const audit = await api.call('GET', '/v1/audit-log?entity=evidence&action=export', { as: 'auditor' });
  t.equal(audit.body.items.length, 1);
  t.same(audit.body.items[0].new_value.controls, ['CC1.1', 'CC6.1', 'CC6.6']);
});

t.test('export: who may, and what is refused', async (t) => {
  const api = await testApp(t);
  const period = 'from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z';
  t.equal((await download(api, `/v1/evidence/export?${period}`, 'steward')).status, 403);
  t.equal((await download(api, `/v1/evidence/export?${period}`, 'pipeline')).status, 403);
  t.equal((await download(api, `/v1/evidence/export?${period}`, 'compliance_officer')).status, 200);
  const unknown = await api.call('GET', `/v1/evidence/export?${period}&controls=CC6.1,CC9.9`, { as: 'auditor' });
  t.match(unknown, { status: 400, body: { errors: [{ field: 'controls', message: 'unknown control id(s): CC9.9' }] } });
  const backwards = await api.call('GET', '/v1/evidence/export?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', { as: 'auditor' });
  t.match(backwards, { status: 400, body: { errors: [{ field: 'to' }] } });
  const audit = await api.call('GET', '/v1/audit-log?entity=evidence&action=export', { as: 'auditor' });
  t.equal(audit.body.items.length, 1, 'only the export that ran is logged');

  const empty = await readZip((await download(api, `/v1/evidence/export?${period}&controls=CC7.2`)).bytes);
  const manifest = JSON.parse(empty.get('manifest.json')!.toString());
  t.match(manifest, { chain: { items_in_period: 0, first_seq: null }, evidence_items_per_control: { 'CC7.2': 0 } });
  t.equal(JSON.parse(empty.get('controls/CC7.2/coverage.json')!.toString()).gaps[0].reason, 'no complete evaluation');
});

t.test('CSV cells are quoted and cannot become spreadsheet formulas', async (t) => {
  t.equal(csvField('a,b'), '"a,b"');
  t.equal(csvField('say "hi"'), '"say ""hi"""');
  t.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  t.equal(csvField(null), '');
});

t.test('issue 11, reproductions 6 and 7: no ok without a trusted key; a deleted item fails the export, /verify and the offline verifier', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  await evaluate(api, wealthEstate);
  await evaluate(api, { ...wealthEstate, observed_at: '2026-11-21T06:00:00.000Z' });
  const period = `from=2026-01-01T00:00:00Z&to=${new Date(Date.now() + 3_600_000).toISOString()}&controls=CC6.6,CC7.2`;
  const key = (await api.call('GET', '/v1/evidence/public-key', { as: 'auditor' })).body;
  t.equal(keyFingerprint(key.public_key_pem), key.key_id, 'the key id is the fingerprint an auditor can expect');
  const genuine = (await download(api, `/v1/evidence/export?${period}`)).bytes;
  const files = await readZip(genuine);

  // 6. Without a trusted key there is no ok: an edited export re-signed with the editor's own key,
  // whose public-key.pem is inside the zip, used to verify.
  t.match(await verifyExport(genuine, {}), { ok: false, problems: [/^no trusted key/] });
  t.match(await verifyExport(genuine, { expectFingerprint: key.key_id }), { ok: true, signature: 'valid' });
  t.match(await verifyExport(genuine, { publicKeyPem: key.public_key_pem }), { ok: true });
  const forger = generateKeyPairSync('ed25519');
  const forged = new Map(files);
  forged.set('controls/CC6.6/evidence.csv', Buffer.from(files.get('controls/CC6.6/evidence.csv')!.toString().replaceAll('failing', 'passing')));
  const manifest = JSON.parse(files.get('manifest.json')!.toString());
  for (const f of manifest.files) if (forged.has(f.path) && f.path !== 'public-key.pem') f.sha256 = hex(forged.get(f.path)!);
  const forgerPem = forger.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  forged.set('public-key.pem', Buffer.from(forgerPem));
  manifest.files.find((f: { path: string }) => f.path === 'public-key.pem').sha256 = hex(Buffer.from(forgerPem));
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
  forged.set('manifest.json', manifestBytes);
  forged.set('manifest.sig', sign(null, manifestBytes, forger.privateKey));
  const dir = await tempDir('custos-verify-');
  const forgedZip = path.join(dir, 'forged.zip');
  await writeZip(forged, forgedZip);
  const noKey = await verifyExport(forgedZip);
  t.equal(noKey.ok, false, 'the zip\'s own key is not trusted');
  t.match(noKey.problems, [/^no trusted key: pass --public-key/]);
  t.match(await verifyExport(forgedZip, { expectFingerprint: key.key_id }), { ok: false, signature: 'invalid', problems: [/fingerprint .* not the expected/] });
  t.match(await verifyExport(forgedZip, { publicKeyPem: key.public_key_pem }), { ok: false, signature: 'invalid' });
  // The command says why and exits non-zero.
  const run = spawnSync(process.execPath, ['--import', 'tsx', path.resolve('src/cli/evidence-verify.ts'), '--export', forgedZip], { encoding: 'utf8' });
  t.equal(run.status, 1);
  t.match(run.stderr, /NOT verified:\n {2}- no trusted key/);
  const genuineZip = path.join(dir, 'genuine.zip');
  await fs.writeFile(genuineZip, genuine);
  const ok = spawnSync(process.execPath, ['--import', 'tsx', path.resolve('src/cli/evidence-verify.ts'), '--export', genuineZip, '--expect-fingerprint', key.key_id], { encoding: 'utf8' });
  t.equal(ok.status, 0, ok.stderr);

  // A zip re-packed with directory entries still verifies; an extra file does not.
  const repacked = path.join(dir, 'repacked.zip');
  const extra = new Map(files);
  extra.set('controls/CC6.6/notes.txt', Buffer.from('added later'));
  await writeZip(extra, repacked);
  t.match(await verifyExport(repacked, key.public_key_pem), { ok: false, problems: ['controls/CC6.6/notes.txt: in the zip but not in the manifest'] });
  const dirsOnly = new ZipFile();
  for (const [name, content] of files) {
    if (path.posix.dirname(name) !== '.') dirsOnly.addEmptyDirectory(path.posix.dirname(name));
    dirsOnly.addBuffer(content, name);
  }
  dirsOnly.end();
  await pipeline(dirsOnly.outputStream, createWriteStream(repacked));
  t.match(await verifyExport(repacked, key.public_key_pem), { ok: true }, 'directory entries of a re-zipped export are ignored');

  // 7. One evidence item deleted (by someone with superuser rights): every verifier says so.
  const items = (await api.call('GET', '/v1/evidence?control=CC6.6&limit=500', { as: 'auditor' })).body.items;
  t.ok(items.length >= 3);
  const victim = items[1];
  await api.app.db.raw('ALTER TABLE evidence_items DISABLE TRIGGER evidence_items_no_update_or_delete');
  await api.app.db('evidence_items').where({ id: victim.id }).delete();
  await api.app.db.raw('ALTER TABLE evidence_items ENABLE TRIGGER evidence_items_no_update_or_delete');
  const verified = (await api.call('POST', '/v1/evidence/verify', { as: 'auditor' })).body;
  t.match(verified, { ok: false, first_break: { problem: `seq ${victim.seq} is missing: an item was deleted` } });
  const broken = (await download(api, `/v1/evidence/export?${period}`)).bytes;
  const brokenManifest = JSON.parse((await readZip(broken)).get('manifest.json')!.toString());
  t.match(brokenManifest.chain, { ok: false, links_ok: false, problems: [`seq ${victim.seq} is missing before item ${victim.seq + 1}: an item was deleted`] });
  const offline = await verifyExport(broken, key.public_key_pem);
  t.equal(offline.ok, false, 'a signed export of a broken chain is not ok');
  t.ok(offline.problems.some((p) => p.startsWith('the manifest reports a broken evidence chain')));
  t.ok(offline.problems.includes(`chain.jsonl: seq ${victim.seq} is missing before item ${victim.seq + 1}: an item was deleted`));
  const html = (await readZip(broken)).get('summary.html')!.toString();
  t.match(html, /links <strong class="failing">broken: items are missing<\/strong>/);
});

t.test('chain fields that need CSV quoting or look like formulas: the offline checks verify what was signed', async (t) => {
  // chain.csv was the offline verifier's input, split on commas and newlines: a source_id with a comma,
  // a quote or a newline broke its rows, and the spreadsheet guard (a leading ' before = + - @) changed
  // the value whose hash it recomputed, so a genuine export was reported as tampered.
  const api = await testApp(t);
  const hostile = ['=HYPERLINK("http://evil.example","open")', '+1,"two"\nthree', '-5', '@SUM(A1:A9)', 'plain, with "quotes"', '\tleading tab'];
  const at = new Date(Date.now() - 60_000).toISOString();
  await api.app.db.transaction((trx) => appendEvidence(trx, hostile.map((source_id) => ({ control_id: 'CC6.6', kind: 'attestation' as const, source_id, collected_at: at, bundle_revision: null, body: { source_id } }))));
  const response = await download(api, `/v1/evidence/export?from=2026-01-01T00:00:00Z&to=${new Date(Date.now() + 3_600_000).toISOString()}&controls=CC6.6`);
  t.equal(response.status, 200);
  const files = await readZip(response.bytes);
  const manifest = JSON.parse(files.get('manifest.json')!.toString());
  t.match(manifest.chain, { ok: true, items_in_period: hostile.length });
  // The offline verifier (npm run evidence:verify) verifies the genuine export.
  const key = (await api.call('GET', '/v1/evidence/public-key', { as: 'auditor' })).body;
  const verified = await verifyExport(response.bytes, key.public_key_pem);
  t.match(verified, { ok: true, signature: 'valid', items: hostile.length, problems: [] }, JSON.stringify(verified.problems));
  t.ok(manifest.files.some((f: { path: string }) => f.path === 'chain.jsonl'), 'chain.jsonl is signed in the manifest');

  // chain.jsonl holds each field as hashed; every row re-checks.
  const rows = files.get('chain.jsonl')!.toString().trim().split('\n').map((line) => JSON.parse(line));
  t.same(rows.map((r) => r.source_id), hostile);
  for (const row of rows) t.equal(itemHash(row.prev_hash, row), row.hash, `item ${row.seq} re-checks from chain.jsonl`);
  // chain.csv stays for people, spreadsheet-safe: the formula is quoted text, not a formula.
  t.match(files.get('chain.csv')!.toString(), /,"'=HYPERLINK\(""http:\/\/evil\.example"",""open""\)",/);

  // An edited field of chain.jsonl does not verify (the file's SHA-256, and the row's hash, no longer match).
  const edited = new Map(files);
  edited.set('chain.jsonl', Buffer.from(files.get('chain.jsonl')!.toString().replace('@SUM(A1:A9)', '@SUM(A1:A8)')));
  const dir = await tempDir('custos-export-');
  await writeZip(edited, path.join(dir, 'edited.zip'));
  const refused = await verifyExport(path.join(dir, 'edited.zip'), key.public_key_pem);
  t.equal(refused.ok, false);
  t.ok(refused.problems.includes('chain.jsonl: SHA-256 differs from the manifest'));
  t.ok(refused.problems.some((p) => /^chain\.jsonl item \d+: the hash does not match its fields$/.test(p)), JSON.stringify(refused.problems));

  // The README's commands (openssl, jq, sha256sum) on the unzipped export.
  const tools = ['sha256sum', 'openssl', 'jq'].filter((c) => !has(c));
  if (IN_CI) t.same(tools, [], 'CI has openssl, jq and sha256sum');
  if (tools.length === 0) {
    const unzipped = await tempDir('custos-export-');
    await extract(files, unzipped);
    t.match(execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'public-key.pem', '-rawin', '-in', 'manifest.json', '-sigfile', 'manifest.sig'], { cwd: unzipped, encoding: 'utf8' }), /Signature Verified Successfully/);
    execFileSync('bash', ['-c', `jq -r '.files[] | "\\(.sha256)  \\(.path)"' manifest.json | sha256sum --quiet -c -`], { cwd: unzipped });
    t.equal(execFileSync('jq', ['-r', '.chain.ok', 'manifest.json'], { cwd: unzipped, encoding: 'utf8' }).trim(), 'true');
  } else t.comment(`${tools.join(', ')} missing: the offline commands were not run`);
});
