/**
 * Bounded memory in an estate evaluation's main thread (issue 17's peak RSS target): a part's input
 * is written straight into one buffer, and the account rules' items are read through a cursor, a
 * group of accounts at a time, never all at once (src/evaluation/partition.ts). The verdicts stay
 * those of one whole-input evaluation (test/evaluation/partition.test.ts).
 */
import t from 'tap';
import { syntheticEstate, type EstateSizes } from '../../bench/synthetic-estate.js';
import { loadDemoData } from '../../src/demo/load.js';
import { sharedInput } from '../../src/evaluation/evaluate.js';
import { evaluateAccounts, inputText, type Item } from '../../src/evaluation/partition.js';
import type { PolicyInput } from '../../src/policy/input.js';
import { importSnapshot } from '../../src/sources/collections.js';
import { testApp } from '../helpers/app.js';

const context = { actor: 'test', actorKeyId: null, role: 'system' };
const SIZES: EstateSizes = { resources: 1_200, findings: 600, permissions: 300, accounts: 5, regions: 3 };

t.test('inputText: the shared parts with the items spliced in, as JSON', async (t) => {
  const shared = {
    now: 1_700_000_000,
    resources: [],
    findings: [],
    lake_formation: { permissions: [], lf_tag_assignments: [{ account: '1', region: 'r', tag: 'Clé ✓' }] },
    catalog: { assets: [{ name: 'données 💾' }] },
  } as unknown as PolicyInput;
  const items: Array<Pick<Item, 'kind' | 'text'>> = [
    { kind: 'finding', text: JSON.stringify({ id: 'f1', title: 'ümlaut' }) },
    { kind: 'resource', text: JSON.stringify({ id: 'r1', tags: { Name: '日本' } }) },
    { kind: 'permission', text: JSON.stringify({ principal: 'p' }) },
    { kind: 'resource', text: JSON.stringify({ id: 'r2' }) },
  ];
  const text = Buffer.from(inputText(shared, items)).toString('utf8');
  t.strictSame(JSON.parse(text), {
    ...shared,
    resources: [{ id: 'r1', tags: { Name: '日本' } }, { id: 'r2' }],
    findings: [{ id: 'f1', title: 'ümlaut' }],
    lake_formation: { ...shared.lake_formation, permissions: [{ principal: 'p' }] },
  });
  t.strictSame(JSON.parse(Buffer.from(inputText(shared, [])).toString('utf8')), shared, 'no items: empty lists');
});

t.test('account rules: items read a fetch at a time, evaluated a group of whole accounts at a time', async (t) => {
  const api = await testApp(t, { workers: false });
  const { db } = api.app;
  await loadDemoData(db);
  const run = await importSnapshot(db, syntheticEstate(SIZES), { trigger: 'file', context });
  const { input } = await sharedInput(db, { id: run.id, observed_at: run.observed_at! });
  // An account only the shared parts name (an LF-tag assignment, no item): judged too.
  const shared = { ...input, lake_formation: { ...input.lake_formation, lf_tag_assignments: [{ account: '999999999999', region: 'us-east-1' }] } } as PolicyInput;
  const itemTypes = new Set(['AWS::LakeFormation::Permission', 'AWS::S3::Bucket']);
  const expected = (await db('run_items').where({ run_id: run.id }).where((q) => q.where('kind', 'permission').orWhere({ kind: 'resource', type: 'AWS::S3::Bucket' })).select('kind', 'key', 'account')) as Array<{ kind: string; key: string; account: string }>;
  t.ok(expected.length > 300, `${expected.length} items of those types`);

  // The largest answer of any query while the groups are read.
  let largest = 0;
  const measure = (_: unknown, response: { rows?: unknown[] } | unknown[]) => {
    const rows = Array.isArray(response) ? response : response?.rows;
    if (Array.isArray(rows)) largest = Math.max(largest, rows.length);
  };
  db.on('query-response', measure);
  const groups: Array<{ accounts: string[]; items: Item[] }> = [];
  let evaluating = false;
  await evaluateAccounts(db, run.id, shared, { everywhere: itemTypes, changed: new Map() }, 150, async (accounts, items) => {
    t.notOk(evaluating, 'one group at a time: the next is read after this one was handed over');
    evaluating = true;
    await new Promise((resolve) => setTimeout(resolve, 5));
    groups.push({ accounts: [...accounts], items });
    evaluating = false;
  }, {}, 50);
  db.off('query-response', measure);

  t.ok(largest <= 50, `no query answered more than a fetch of 50 rows (largest ${largest})`);
  const seen = groups.flatMap((g) => g.items.map((i) => `${i.kind}|${i.match}`));
  t.equal(seen.length, expected.length, 'every item of those types, once');
  t.equal(new Set(seen).size, seen.length);
  for (const g of groups) for (const item of g.items) t.ok(g.accounts.includes(item.account), `${item.match} in its group's accounts`);
  const accounts = groups.flatMap((g) => g.accounts);
  t.equal(new Set(accounts).size, accounts.length, 'each account in one group');
  t.strictSame(new Set(accounts), new Set([...expected.map((e) => e.account), '999999999999']), 'every account with items, and the one only the shared parts name');
});

t.test('incremental account rules: only the changed accounts, only their changed rules\' types, and a changed account whose items are all gone', async (t) => {
  const api = await testApp(t, { workers: false });
  const { db } = api.app;
  await loadDemoData(db);
  const run = await importSnapshot(db, syntheticEstate(SIZES), { trigger: 'file', context });
  const { input: shared } = await sharedInput(db, { id: run.id, observed_at: run.observed_at! });
  const [first] = (await db('run_items').where({ run_id: run.id, kind: 'permission' }).distinct('account').orderBy('account')) as Array<{ account: string }>;
  // No rule judged everywhere; one account changed for a rule of permissions, one (no longer in the run) for a rule of buckets.
  const changed = new Map([
    [first!.account, new Set(['AWS::LakeFormation::Permission'])],
    ['888888888888', new Set(['AWS::S3::Bucket'])],
  ]);
  const groups: Array<{ accounts: string[]; items: Item[] }> = [];
  await evaluateAccounts(db, run.id, shared, { everywhere: null, changed }, 10_000, async (accounts, items) => {
    groups.push({ accounts: [...accounts], items });
  });
  const accounts = groups.flatMap((g) => g.accounts).sort();
  t.strictSame(accounts, [first!.account, '888888888888'].sort(), 'the changed accounts only (not those the shared parts name)');
  const items = groups.flatMap((g) => g.items);
  const expected = Number((await db('run_items').where({ run_id: run.id, kind: 'permission', account: first!.account }).count('* as n').first())!.n);
  t.ok(expected > 0);
  t.equal(items.length, expected, "the changed account's permissions, and nothing else of it");
  t.ok(items.every((i) => i.kind === 'permission' && i.account === first!.account));
  t.ok(groups.some((g) => g.accounts.includes('888888888888')) && !items.some((i) => i.account === '888888888888'), 'the account whose items are all gone is judged, with no items');
});
