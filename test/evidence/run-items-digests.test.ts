import t from 'tap';
import { loadDemoData } from '../../src/demo/load.js';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { importSnapshot } from '../../src/sources/collections.js';
import { runItemRefs, runItemsDigest, runItemsDigests } from '../../src/sources/run-store.js';
import { testApp } from '../helpers/app.js';

// Evaluation evidence digests what each control's rules checked in one pass over the run's item
// references read a batch at a time (issue 17: the references of 170,000 items were held at once).
t.test('runItemsDigests: in batches, the digests of runItemsDigest over the selected references', async (t) => {
  const api = await testApp(t, { workers: false });
  const { db } = api.app;
  await loadDemoData(db);
  const run = await importSnapshot(db, wealthEstate, { trigger: 'file', context: { actor: 'test', actorKeyId: null, role: 'system' } });
  const refs = await runItemRefs(db, run.id);
  t.ok(refs.length > 20, `${refs.length} items`);
  const selections: Array<(item: { kind: string; type: string }) => boolean> = [
    () => true,
    (i) => i.kind === 'resource' && i.type === 'AWS::S3::Bucket',
    (i) => i.kind === 'finding' || (i.kind === 'resource' && i.type.startsWith('AWS::IAM::')),
    () => false,
  ];
  const expected = selections.map((take) => runItemsDigest(refs.filter(take)));
  // Batches smaller than the run, one that ends exactly on a batch boundary, and one batch for all.
  for (const batch of [1, 7, refs.length, refs.length + 1]) {
    t.strictSame(await runItemsDigests(db, run.id, selections, batch), expected, `batches of ${batch}`);
  }
  t.strictSame(expected[3], { counts: {}, items_sha256: runItemsDigest([]).items_sha256 }, 'an empty selection digests nothing');
});
