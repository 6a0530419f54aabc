import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { itemTypesRead, sharedPartsRead, undeclaredItemTypes, undeclaredReads } from '../../scripts/rego-reads.js';
import { IN_CI, opaBinary } from '../helpers/bundles.js';

// A resource rule whose `custom.reads` misses what it reads would have its verdicts reused by an
// incremental evaluation after that part changed: the build must refuse it (scripts/build-policies.ts).

const opa = opaBinary();
if (!opa && IN_CI) t.fail('the OPA CLI is required in CI (npm run tools:opa): this test parses Rego');
const SHARED = ['now', 'catalog', 'coverage', 'lf_tag_assignments'];
const LIB = path.resolve('rego/custos/lib/lib.rego');

/** The shipped rules' policy files (not their tests). */
const shippedRuleFiles = () =>
  fs
    .readdirSync('rego/custos/rules', { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.rego') && !e.name.endsWith('_test.rego'))
    .map((e) => path.resolve(e.parentPath, e.name));

function rule(dir: string, name: string, body: string): string {
  const file = path.join(dir, `${name}.rego`);
  fs.writeFileSync(file, `package custos.rules.test.${name}\n\nimport data.custos.lib\n\n${body}\n`);
  return file;
}

t.test('what a rule reads, directly or through the library, against what it declares', { skip: opa ? false : 'OPA CLI not installed (npm run tools:opa)' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-reads-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = {
    itemsOnly: rule(dir, 'items_only', 'violations contains r.id if {\n\tsome r in input.resources\n\tnot r.configuration.encrypted\n}'),
    readsNow: rule(dir, 'reads_now', 'violations contains f.id if {\n\tsome f in input.findings\n\tinput.now - f.first_observed_at > 10\n}'),
    viaLib: rule(dir, 'via_lib', 'violations contains r.id if {\n\tsome r in lib.resources("AWS::S3::Bucket")\n\tlib.listed(r.type, r.account, r.region)\n}'),
    tags: rule(dir, 'tags', 'violations contains p if {\n\tsome p in input.lake_formation.permissions\n\tsome a in input.lake_formation.lf_tag_assignments\n\ta.resource == p.resource\n}'),
    whole: rule(dir, 'whole', 'violations contains k if {\n\tsome k, _ in input\n}'),
  };
  const read = sharedPartsRead(opa!, LIB, Object.values(files));
  const parts = (file: string) => [...read.get(file)!].sort();
  t.same(parts(files.itemsOnly), [], 'items are not shared parts');
  t.same(parts(files.readsNow), ['now'], 'input.now');
  t.same(parts(files.viaLib), ['coverage'], 'lib.listed reads input.coverage');
  t.same(parts(files.tags), ['lf_tag_assignments'], 'input.lake_formation.lf_tag_assignments, not the permissions (items)');
  t.same(parts(files.whole), ['*'], 'the whole input counts as every part');

  t.same(undeclaredReads(read.get(files.readsNow)!, ['now'], SHARED), [], 'declared: accepted');
  t.match(undeclaredReads(read.get(files.readsNow)!, [], SHARED), [/reads input…now without declaring now/], 'undeclared now: refused');
  t.match(undeclaredReads(read.get(files.viaLib)!, ['now'], SHARED), [/coverage/], 'undeclared coverage read through the library: refused');
  t.match(undeclaredReads(read.get(files.whole)!, ['now', 'catalog'], SHARED), [/whole input/], 'the whole input with a partial declaration: refused');
  t.same(undeclaredReads(read.get(files.whole)!, SHARED, SHARED), [], 'the whole input with every part declared: accepted');
});

t.test('every shipped resource rule declares what it reads', { skip: opa ? false : 'OPA CLI not installed (npm run tools:opa)' }, async (t) => {
  const files = shippedRuleFiles();
  const read = sharedPartsRead(opa!, LIB, files);
  let checked = 0;
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    if (!/#\s+scope: resource/.test(text)) continue;
    const declared = JSON.parse((text.match(/#\s+reads: (\[.*\])/)?.[1] ?? '[]').replace(/(\w+)/g, '"$1"')) as string[];
    t.same(undeclaredReads(read.get(file)!, declared, SHARED), [], path.relative('rego/custos/rules', file));
    checked++;
  }
  t.ok(checked >= 15, `${checked} resource rules checked`);
});

// An account rule is evaluated over its accounts' items of the types it declares in custom.item_types:
// one that reads an undeclared type would miss those items when the estate is evaluated in parts.
t.test('the item types an account rule reads, against its custom.item_types', { skip: opa ? false : 'OPA CLI not installed (npm run tools:opa)' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-items-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = {
    literal: rule(dir, 'literal', 'violations contains b.id if {\n\tsome b in lib.resources("AWS::S3::Bucket")\n\tnot b.x\n}'),
    constant: rule(dir, 'constant', 'trail_type := "AWS::CloudTrail::Trail"\n\nviolations contains t.id if {\n\tsome t in lib.resources(trail_type)\n\tnot t.x\n}'),
    loop: rule(dir, 'loop', 'violations contains r.id if {\n\tsome type in ["AWS::RDS::DBCluster", "AWS::DynamoDB::Table"]\n\tsome r in lib.resources(type)\n\tnot r.x\n}'),
    lists: rule(dir, 'lists', 'violations contains p.principal if {\n\tsome p in input.lake_formation.permissions\n\tsome f in input.findings\n\tp.principal == f.id\n}'),
    everything: rule(dir, 'everything', 'violations contains r.id if {\n\tsome r in input.resources\n\tnot r.x\n}'),
  };
  const read = itemTypesRead(opa!, LIB, Object.values(files));
  const types = (file: string) => [...read.get(file)!].sort();
  t.same(types(files.literal), ['AWS::S3::Bucket'], 'lib.resources with a literal type');
  t.same(types(files.constant), ['AWS::CloudTrail::Trail'], 'lib.resources with a package constant');
  t.same(types(files.loop), ['AWS::DynamoDB::Table', 'AWS::RDS::DBCluster'], 'lib.resources over a list of types');
  t.same(types(files.lists), ['AWS::LakeFormation::Permission', 'AWS::SecurityHub::Finding'], 'permissions and findings');
  t.same(types(files.everything), ['*'], 'input.resources itself: every type');

  t.same(undeclaredItemTypes(read.get(files.loop)!, ['AWS::RDS::DBCluster', 'AWS::DynamoDB::Table']), [], 'declared: accepted');
  t.match(undeclaredItemTypes(read.get(files.loop)!, ['AWS::RDS::DBCluster']), [/AWS::DynamoDB::Table without declaring/], 'one type missing: refused');
  t.match(undeclaredItemTypes(read.get(files.everything)!, ['AWS::S3::Bucket']), [/every resource type/], 'every type: refused');
});

t.test('every shipped account rule declares the item types it reads', { skip: opa ? false : 'OPA CLI not installed (npm run tools:opa)' }, async (t) => {
  const files = shippedRuleFiles().filter((file) => /#\s+scope: account/.test(fs.readFileSync(file, 'utf8')));
  const read = itemTypesRead(opa!, LIB, files);
  for (const file of files) {
    const declared = (fs.readFileSync(file, 'utf8').match(/#\s+item_types: \[(.*)\]/)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    t.same(undeclaredItemTypes(read.get(file)!, declared), [], path.relative('rego/custos/rules', file));
  }
  t.ok(files.length >= 5, `${files.length} account rules checked`);
});
