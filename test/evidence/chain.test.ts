import t from 'tap';
import { canonicalJson, GENESIS, sha256 } from '../../src/evidence/chain.js';
import { loadShippedCatalog } from '../../src/controls/catalog.js';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { loadDemoData } from '../../src/demo/load.js';
import { testApp, waitFor, type TestApp } from '../helpers/app.js';

t.test('canonical JSON: the same value, the same text', async (t) => {
  t.equal(canonicalJson({ b: 1, a: [{ d: 2, c: null }] }), '{"a":[{"c":null,"d":2}],"b":1}');
  t.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
  t.not(canonicalJson([1, 2]), canonicalJson([2, 1]), 'array order matters');
});

async function evaluated(t: Parameters<typeof testApp>[0]) {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  const run = (await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot: wealthEstate } })).body;
  const evaluation = await waitFor(async () => (await api.call('GET', `/v1/evaluations?collection_id=${run.id}`)).body.items.find((e: { status: string }) => e.status === 'complete'), 'evaluation');
  return { api, run, evaluation };
}

const verify = async (api: TestApp) => (await api.call('POST', '/v1/evidence/verify', { as: 'auditor' })).body;

t.test('each collection run and evaluation stores chained evidence per control', async (t) => {
  const { api, run, evaluation } = await evaluated(t);
  const all = (await api.call('GET', '/v1/evidence?limit=500', { as: 'auditor' })).body.items;
  const items = all.filter((i: { kind: string }) => i.kind === 'evaluation');

  // The run comes first: one item per control that collects collection-runs, with a digest of all it stored.
  const collected = all.filter((i: { kind: string }) => i.kind === 'collection');
  t.same(collected.map((i: { control_id: string }) => i.control_id), ['CC6.1', 'CC6.6', 'CC6.7', 'CC7.1', 'CC7.2', 'A1.2', 'C1.1', 'C1.2']);
  t.ok(all.slice(0, collected.length).every((i: { kind: string }) => i.kind === 'collection'));
  const runItems = await api.app.db('run_items').where({ run_id: run.id }).orderBy(['kind', 'key']).select('kind', 'key', 'hash');
  t.match(collected[0], { source_id: run.id, collected_at: '2026-11-20T06:00:00.000Z', bundle_revision: null });
  t.match(collected[0].body, { run: { id: run.id, trigger: 'file', status: 'complete' }, gaps: [], collected: { items: runItems.length, counts: { 'AWS::S3::Bucket': 4 } } });
  t.equal(collected[0].body.collected.items_sha256, sha256(runItems.map((b) => `${b.kind}|${b.key}|${b.hash}`).join('\n')));

  const rules = api.app.policy.current().engine.rules();
  const tested = loadShippedCatalog()
    .controls.filter((c) => c.automation !== 'manual' && rules.some((r) => r.controls.includes(c.id)))
    .map((c) => c.id);
  t.ok(tested.length >= 10);
  t.same(items.map((i: { control_id: string }) => i.control_id).sort(), [...tested].sort(), 'one item per automated or partial control a rule tests');
  t.equal(all[0].prev_hash, GENESIS);
  for (let i = 1; i < all.length; i++) t.equal(all[i].prev_hash, all[i - 1].hash, `item ${i} links to its predecessor`);

  const cc66 = items.find((i: { control_id: string }) => i.control_id === 'CC6.6');
  t.match(cc66, { kind: 'evaluation', source_id: evaluation.id, collected_at: '2026-11-20T06:00:00.000Z', bundle_revision: evaluation.bundle_revision });
  t.match(cc66.body, { status: 'failing', evaluation: { run_id: run.id, run_partial: false }, checked: { counts: { 'AWS::S3::Bucket': 4 } } });
  t.equal(cc66.body.failing_findings.length, 2);
  t.equal(cc66.body_sha256, sha256(canonicalJson(cc66.body)), 'content-addressed');
  // What was checked, slice by slice (a resource type, or the findings), as an auditor recomputes it
  // from the run's items listed by the API: every type its rules read, one it holds none of included.
  t.match(cc66.body.checked.slices, [{ kind: 'resource', type: 'AWS::S3::AccountPublicAccessBlock' }, { kind: 'resource', type: 'AWS::S3::Bucket', items: 4 }]);
  const recomputed = async (slice: { kind: string; type?: string }) => {
    const lines: string[] = [];
    let url: string | null = `/v1/collections/${run.id}/resources?kind=${slice.kind}${slice.type ? `&type=${encodeURIComponent(slice.type)}` : ''}&limit=500`;
    while (url) {
      const page: { items: Array<{ kind: string; key: string; hash: string }>; next_cursor: string | null } = (await api.call('GET', url, { as: 'auditor' })).body;
      lines.push(...page.items.map((i) => `${i.kind}|${i.key}|${i.hash}`));
      url = page.next_cursor ? `${url.replace(/&cursor=[^&]*/, '')}&cursor=${encodeURIComponent(page.next_cursor)}` : null;
    }
    return { items: lines.length, items_sha256: sha256(lines.join('\n')) };
  };
  for (const item of items) {
    for (const slice of item.body.checked.slices) t.match(await recomputed(slice), { items: slice.items, items_sha256: slice.items_sha256 }, `${item.control_id}: ${slice.kind} ${slice.type ?? ''}`);
  }
  const cc73 = items.find((i: { control_id: string }) => i.control_id === 'CC7.3');
  t.ok(cc73.body.checked.slices.some((s: { kind: string; type?: string }) => s.kind === 'finding' && s.type === undefined), 'findings are one slice');

  const result = await verify(api);
  t.same(result, { ok: true, items: all.length, head: all.at(-1).hash });

  // A second evaluation extends the same chain.
  await api.call('POST', '/v1/evaluations', { as: 'compliance_officer', body: { collection_id: run.id } });
  await waitFor(async () => ((await verify(api)).items === all.length + items.length ? true : undefined), 'second evaluation evidence');
  const next = (await api.call(`GET`, `/v1/evidence?limit=500&cursor=${Buffer.from(JSON.stringify([all.at(-1).seq])).toString('base64url')}`)).body.items;
  t.equal(next[0].prev_hash, result.head);
  t.equal((await api.call('GET', `/v1/evidence?control=CC6.6&kind=evaluation`)).body.items.length, 2);
  t.equal((await api.call('GET', `/v1/evidence?control=CC6.6`)).body.items.length, 3);

  await t.rejects(api.app.db('evidence_items').update({ control_id: 'CC1.1' }), /evidence_items is append-only/);
  await t.rejects(api.app.db('evidence_items').delete(), /evidence_items is append-only/);
});

t.test('tampering is detected at the item tampered with', async (t) => {
  const { api } = await evaluated(t);
  const items = (await api.call('GET', '/v1/evidence?limit=500')).body.items;
  // Someone with database superuser rights disables the guard and edits one body.
  const victim = items[3];
  await api.app.db.raw('ALTER TABLE evidence_items DISABLE TRIGGER evidence_items_no_update_or_delete');
  await api.app.db('evidence_items').where({ id: victim.id }).update({ body: JSON.stringify({ ...victim.body, status: 'passing' }) });
  t.match(await verify(api), { ok: false, items: 3, first_break: { seq: victim.seq, id: victim.id, problem: /body does not match/ } });

  // Restore it, then delete another: the next item's link breaks.
  await api.app.db('evidence_items').where({ id: victim.id }).update({ body: JSON.stringify(victim.body) });
  t.match(await verify(api), { ok: true });
  await api.app.db('evidence_items').where({ id: items[5].id }).delete();
  t.match(await verify(api), { ok: false, first_break: { id: items[6].id, problem: `seq ${items[5].seq} is missing: an item was deleted` } });

  // Editing both body and body_sha256 is caught by the item hash.
  await api.app.db('evidence_items').where({ id: items[1].id }).update({ body: JSON.stringify({ forged: true }), body_sha256: sha256(canonicalJson({ forged: true })) });
  t.match(await verify(api), { ok: false, first_break: { id: items[1].id, problem: /item hash does not match/ } });
  await api.app.db.raw('ALTER TABLE evidence_items ENABLE TRIGGER evidence_items_no_update_or_delete');
});

t.test('the evidence definitions and the catalog schema name the same kinds', async (t) => {
  const { EVIDENCE_IDS } = await import('../../src/controls/catalog.js');
  const definitions = JSON.parse(await (await import('node:fs/promises')).readFile('evidence/definitions.json', 'utf8'));
  t.same(Object.keys(definitions).sort(), [...EVIDENCE_IDS].sort());
});
