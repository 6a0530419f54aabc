import { createHash } from 'node:crypto';
import t from 'tap';
import { loadDemoData } from '../../src/demo/load.js';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { importSnapshot } from '../../src/sources/collections.js';
import { EMPTY_SHA256, runDigests, runItemCounts, runSliceDigests, type ItemCount } from '../../src/sources/run-store.js';
import { testApp } from '../helpers/app.js';

// A run's items are digested in one pass read a batch at a time (issue 17: the references of 170,000
// items were held at once): all of them for the collection evidence, and each slice (the resources of
// a type, or a whole other kind) once, when the run finishes, for the evidence of its evaluations.
t.test('runDigests: in batches, the digest of all the run items and of each slice', async (t) => {
  const api = await testApp(t, { workers: false });
  const { db } = api.app;
  await loadDemoData(db);
  // The demo estate, and a few of its resources again in a second account and region.
  const elsewhere = wealthEstate.resources.slice(0, 3).map((r) => ({ ...r, account: '444455556666', region: 'eu-west-1' }));
  const run = await importSnapshot(db, { ...wealthEstate, resources: [...wealthEstate.resources, ...elsewhere] }, { trigger: 'file', context: { actor: 'test', actorKeyId: null, role: 'system' } });
  // What an auditor computes from the listed items, independently of the code under test.
  const refs: Array<{ kind: string; type: string; key: string; hash: string; account: string; region: string }> = await db('run_items')
    .select('kind', 'type', 'key', 'hash', 'account', 'region')
    .where({ run_id: run.id })
    .orderBy(['kind', 'key']);
  const sha256 = (lines: string[]) => createHash('sha256').update(lines.join('\n')).digest('hex');
  const runItemsDigest = (items: typeof refs) => {
    const counts: Record<string, number> = {};
    for (const i of items) {
      const name = i.kind === 'resource' ? i.type : i.kind;
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return { counts, items_sha256: sha256(items.map((i) => `${i.kind}|${i.key}|${i.hash}`)) };
  };
  t.ok(refs.length > 20, `${refs.length} items`);
  const sliceOf = (r: { kind: string; type: string }) => `${r.kind}|${r.kind === 'resource' ? r.type : ''}`;
  const names = [...new Set(refs.map(sliceOf))].sort();
  t.ok(names.includes('resource|AWS::S3::Bucket') && names.includes('finding|'), names.join(', '));
  // How many items of each kind, type, account and region: counted here from the listed items.
  const place = (c: Omit<ItemCount, 'items'>) => [c.kind, c.type, c.account, c.region].join('|');
  const byPlace = new Map<string, ItemCount>();
  for (const r of refs) {
    const known = byPlace.get(place(r));
    if (known) known.items++;
    else byPlace.set(place(r), { kind: r.kind, type: r.type, account: r.account, region: r.region, items: 1 });
  }
  const sorted = (counts: ItemCount[]) => [...counts].sort((a, b) => (place(a) < place(b) ? -1 : 1));
  const counts = sorted([...byPlace.values()]);
  t.ok(new Set(refs.map((r) => r.account)).size > 1 && new Set(refs.map((r) => r.region)).size > 1, 'the run spans several accounts and regions');
  const expected = {
    all: { items: refs.length, ...runItemsDigest(refs) },
    slices: names.map((name) => {
      const of = refs.filter((r) => sliceOf(r) === name);
      return { kind: of[0]!.kind, type: of[0]!.kind === 'resource' ? of[0]!.type : '', items: of.length, items_sha256: runItemsDigest(of).items_sha256 };
    }),
  };
  // Batches smaller than the run, one that ends exactly on a batch boundary, and one batch for all.
  for (const batch of [1, 7, refs.length, refs.length + 1]) {
    const digests = await runDigests(db, run.id, batch);
    t.strictSame({ ...digests, counts: sorted(digests.counts) }, { ...expected, counts }, `batches of ${batch}`);
  }

  // Kept when the run finished: what its evaluations read, not made again.
  const kept = await db.transaction((trx) => runSliceDigests(trx, run.id));
  t.strictSame(kept, expected.slices, 'the slice digests were kept when the run finished');
  // A run finished before they were kept (migration 032): made and kept at its first evaluation.
  await db('run_slice_digests').where({ run_id: run.id }).delete();
  t.strictSame(await db.transaction((trx) => runSliceDigests(trx, run.id)), expected.slices, 'made from the items when missing');
  t.equal(Number((await db('run_slice_digests').where({ run_id: run.id }).count('* as n'))[0]!.n), names.length, 'and kept');
  t.equal(sha256([]), EMPTY_SHA256, 'nothing digests to the SHA-256 of nothing');

  // The item counts (migration 035): kept when the run finished, what its evaluations read instead of counting its items.
  t.strictSame(sorted(await runItemCounts(db, run.id)), counts, 'the item counts were kept when the run finished');
  await db('run_item_counts').where({ run_id: run.id }).delete();
  t.strictSame(sorted(await runItemCounts(db, run.id)), counts, 'counted from the items when missing (a run finished before they were kept)');
  t.equal(Number((await db('run_item_counts').where({ run_id: run.id }).count('* as n'))[0]!.n), counts.length, 'and kept');
});
