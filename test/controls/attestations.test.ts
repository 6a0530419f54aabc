import { createHash } from 'node:crypto';
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { download, readZip } from '../helpers/zip.js';

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const CSV = Buffer.from('reviewer,date,result\nciso@bank.example,2026-11-01,ok\n');
const b64 = (b: Buffer) => b.toString('base64');
const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

t.test('a compliance officer attests a manual control with files; it then passes, with evidence', async (t) => {
  const api = await testApp(t);
  const before = await api.call('GET', '/v1/controls/CC1.1', { as: 'auditor' });
  t.match(before.body, { status: 'manual', attestation: null });

  const created = await api.call('POST', '/v1/controls/CC1.1/attestations', {
    as: 'compliance_officer',
    body: {
      statement: 'Code of conduct acknowledged by all staff; HR records sampled (25 of 25).',
      files: [
        { filename: 'acknowledgements.pdf', media_type: 'application/pdf', content_base64: b64(PDF) },
        { filename: 'sample.csv', media_type: 'text/csv', content_base64: b64(CSV) },
      ],
    },
  });
  t.equal(created.status, 201);
  t.equal(created.headers.location, `/v1/attestations/${created.body.id}`);
  t.match(created.body, { control_id: 'CC1.1', attested_by: 'test-compliance_officer', period_to: null });
  t.same(created.body.files.map((f: { filename: string; sha256: string; size_bytes: number }) => [f.filename, f.sha256, f.size_bytes]), [
    ['acknowledgements.pdf', hex(PDF), PDF.length],
    ['sample.csv', hex(CSV), CSV.length],
  ]);
  const year = new Date(Date.parse(created.body.attested_at) + 365 * 86_400_000).toISOString();
  t.equal(created.body.valid_until, year, 'stands a year without a period');

  const after = (await api.call('GET', '/v1/controls/CC1.1', { as: 'auditor' })).body;
  t.match(after, { status: 'passing', reason: /^attested by test-compliance_officer on \d{4}-\d\d-\d\d, standing until/, attestation: { id: created.body.id } });

  // The statement and the files' hashes are in the evidence chain.
  const evidence = (await api.call('GET', `/v1/evidence/${created.body.evidence_item_id}`, { as: 'auditor' })).body;
  t.match(evidence, { kind: 'attestation', control_id: 'CC1.1', source_id: created.body.id });
  t.same(evidence.body.files.map((f: { sha256: string }) => f.sha256), [hex(PDF), hex(CSV)]);
  t.match((await api.call('POST', '/v1/evidence/verify', { as: 'auditor' })).body, { ok: true, items: 1 });

  // Files come back byte for byte, never sniffed into something else.
  const file = await download(api, `/v1/attestations/${created.body.id}/files/${created.body.files[0].id}`);
  t.equal(file.status, 200);
  t.ok(file.bytes.equals(PDF));
  t.match(file.headers, { 'content-type': 'application/pdf', 'x-content-type-options': 'nosniff', 'content-disposition': 'attachment; filename="acknowledgements.pdf"' });

  const list = await api.call('GET', '/v1/controls/CC1.1/attestations', { as: 'steward' });
  t.same(list.body.items.map((a: { id: string }) => a.id), [created.body.id]);
  t.equal((await api.call('GET', `/v1/attestations/${created.body.id}`, { as: 'auditor' })).body.files.length, 2);
  const audit = await api.call('GET', `/v1/audit-log?entity=attestations&entity_id=${created.body.id}`, { as: 'auditor' });
  t.match(audit.body.items, [{ action: 'attest', actor: 'test-compliance_officer' }]);

  // An attestation whose period is over no longer stands.
  await api.call('POST', '/v1/controls/CC1.2/attestations', { as: 'admin', body: { statement: 'Board minutes reviewed.', period_from: '2025-01-01T00:00:00Z', period_to: '2025-12-31T00:00:00Z', files: [] } });
  t.match((await api.call('GET', '/v1/controls/CC1.2')).body, { status: 'manual', attestation: null });

  // The export carries the attestation and its files, hashed in the manifest.
  const from = new Date(Date.now() - 86_400_000).toISOString();
  const zip = await readZip((await download(api, `/v1/evidence/export?from=${from}&to=${new Date(Date.now() + 60_000).toISOString()}&controls=CC1.1`)).bytes);
  t.ok(zip.get(`attestations/${created.body.id}/acknowledgements.pdf`)!.equals(PDF));
  const manifest = JSON.parse(zip.get('manifest.json')!.toString());
  t.equal(manifest.files.find((f: { path: string }) => f.path.endsWith('acknowledgements.pdf')).sha256, hex(PDF));
  t.match(zip.get('summary.html')!.toString(), /class="passing">passing/);
});

t.test('attestations refuse what they must, and write nothing then', async (t) => {
  const api = await testApp(t);
  const post = (body: unknown, as: 'compliance_officer' | 'steward' | 'auditor' = 'compliance_officer', control = 'CC1.1') => api.call('POST', `/v1/controls/${control}/attestations`, { as, body });
  const statement = 'Reviewed.';
  const cases: Array<[string, Awaited<ReturnType<typeof post>>, number, string?]> = [
    ['an executable named .pdf', await post({ statement, files: [{ filename: 'x.pdf', media_type: 'application/pdf', content_base64: b64(Buffer.from('MZ\x90\x00binary')) }] }), 400, 'files[0]'],
    ['a PDF named .png', await post({ statement, files: [{ filename: 'x.png', media_type: 'application/pdf', content_base64: b64(PDF) }] }), 400, 'files[0]'],
    ['an unlisted type', await post({ statement, files: [{ filename: 'x.exe', media_type: 'application/x-msdownload', content_base64: b64(PDF) }] }), 400, 'files[0].media_type'],
    ['binary as text', await post({ statement, files: [{ filename: 'x.txt', media_type: 'text/plain', content_base64: b64(Buffer.from([0, 1, 2])) }] }), 400, 'files[0]'],
    ['not base64', await post({ statement, files: [{ filename: 'x.txt', media_type: 'text/plain', content_base64: 'abc' }] }), 400, 'files[0].content_base64'],
    ['the same file twice', await post({ statement, files: [1, 2].map(() => ({ filename: 'a.csv', media_type: 'text/csv', content_base64: b64(CSV) })) }), 400, 'files[1].filename'],
    ['a path as a name', await post({ statement, files: [{ filename: '../etc/passwd.txt', media_type: 'text/plain', content_base64: b64(CSV) }] }), 400, 'files[0].filename'],
    ['too large', await post({ statement, files: [{ filename: 'big.txt', media_type: 'text/plain', content_base64: b64(Buffer.alloc(10 * 1024 * 1024 + 1, 'a')) }] }), 400, 'files[0]'],
    ['no statement', await post({ statement: '', files: [] }), 400, 'statement'],
    ['an unknown field', await post({ statement, files: [], signed: true }), 400, 'signed'],
    ['period backwards', await post({ statement, files: [], period_from: '2026-02-01T00:00:00Z', period_to: '2026-01-01T00:00:00Z' }), 400, 'period_to'],
    ['an automated control', await post({ statement, files: [] }, 'compliance_officer', 'CC6.1'), 409],
    ['a control not in the catalog', await post({ statement, files: [] }, 'compliance_officer', 'CC9.9'), 404],
    ['a steward', await post({ statement, files: [] }, 'steward'), 403],
    ['an auditor', await post({ statement, files: [] }, 'auditor'), 403],
  ];
  for (const [what, response, status, field] of cases) {
    t.equal(response.status, status, what);
    t.match(response.headers['content-type'], /application\/problem\+json/, `${what}: problem+json`);
    if (field) t.ok(response.body.errors?.some((e: { field: string }) => e.field === field), `${what}: names ${field} (${JSON.stringify(response.body.errors)})`);
  }
  t.equal((await api.app.db('attestations').count('* as n').first())!.n, 0, 'no attestation written');
  t.equal((await api.app.db('evidence_items').count('* as n').first())!.n, 0, 'no evidence written');
});
