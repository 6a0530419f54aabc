import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { InvalidBundleError, readBundle } from '../../src/policy/bundle.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import { PolicyWorkers } from '../../src/policy/workers.js';
import { COMPLIANCE_VIOLATIONS } from '../../src/policy/entrypoints.js';
import type { Violation } from '../../src/policy/input.js';
import { holdsAt } from '../../src/evaluation/time-bound.js';
import { IN_CI, opaBinary, SHIPPED, shippedAsRevision, tar, untar } from '../helpers/bundles.js';
import { tempDir } from '../helpers/app.js';
import { ESTATE, EXPECTED } from './fixtures.js';

const workers = new PolicyWorkers({ threads: 1 });
t.teardown(() => workers.close());
const load = (archive: Buffer) => PolicyEngine.load(workers, archive);

t.test('the shipped bundle: every rule explained by its METADATA', async (t) => {
  const engine = await load(await fs.readFile(SHIPPED));
  t.match(engine.revision, /^rego-[0-9a-f]{16}$/);
  const rules = engine.rules();
  t.equal(rules.length, 42);
  t.equal(new Set(rules.map((r) => r.id)).size, rules.length, 'rule ids are unique');
  for (const rule of rules) {
    t.match(rule.id, /^[a-z0-9]+\.[a-z0-9_]+$/);
    t.ok(['critical', 'high', 'medium', 'low'].includes(rule.severity), `${rule.id} severity`);
    t.ok(rule.controls.length > 0 && rule.controls.every((c) => /^(CC[1-9]\.\d|A1\.[1-3]|C1\.[12])$/.test(c)), `${rule.id} controls are canonical SOC 2 ids`);
    t.ok(rule.title.length > 0 && rule.description.length > 0, `${rule.id} has a title and description`);
    t.equal(rule.package, `custos.rules.${rule.id}`, 'package matches the rule id');
  }
});

t.test('a finished evaluation leaves no budget timer behind (one left running kept test processes alive for 15 minutes)', async (t) => {
  const engine = await load(await fs.readFile(SHIPPED));
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  for (let i = 0; i < 20; i++) await engine.evaluate(COMPLIANCE_VIOLATIONS, ESTATE);
  await engine.evaluateLarge(COMPLIANCE_VIOLATIONS, ESTATE);
  await new Promise((r) => setTimeout(r, 100));
  t.ok(timers() <= before, `timers before ${before}, after ${timers()}`);

});

t.test('violations over an estate: exactly the expected ones, each explained', async (t) => {
  const engine = await load(await fs.readFile(SHIPPED));
  const { defined, result } = await engine.evaluate(COMPLIANCE_VIOLATIONS, ESTATE);
  t.ok(defined);
  // What holds at the estate's now (src/evaluation/time-bound.ts): the fresh finding's SLA violation begins later.
  const violations = (result as Violation[]).filter((v) => holdsAt(v, ESTATE.now)) as Array<Record<string, any>>;
  t.same(violations.map((v) => [v.id, v.resource.id]).sort(), EXPECTED);
  const publicRead = violations.find((v) => v.id === 's3.bucket_public_read')!;
  t.same(publicRead, {
    id: 's3.bucket_public_read',
    severity: 'critical',
    controls: ['CC6.1', 'CC6.6'],
    msg: 'bucket wealth-client-documents is readable by anyone through its ACL',
    resource: { type: 'AWS::S3::Bucket', id: 'wealth-client-documents', account: '111122223333', region: 'us-east-1' },
    rule: publicRead.rule,
  });
  t.match(publicRead.rule, { title: 'S3 bucket allows public read', remediation: 's3_block_public_access' });

  // Deterministic: the clock is an input, so the same input replays to the same answer.
  t.same((await engine.evaluate(COMPLIANCE_VIOLATIONS, ESTATE)).result, result);
  const later = (await engine.evaluate(COMPLIANCE_VIOLATIONS, { ...ESTATE, now: ESTATE.now + 40 * 86_400 })).result as Violation[];
  const timeBound = (vs: Violation[]) => vs.filter((v) => ['securityhub.finding_sla', 'iam.access_key_rotation', 'iam.unused_credentials'].includes(v.id)).map((v) => JSON.stringify(v)).sort();
  t.same(timeBound(later), timeBound(result as Violation[]), 'the time-bound rules do not read now: a violation that begins later says when (violates_after)');
  t.equal(later.filter((v) => v.id === 'securityhub.finding_sla' && holdsAt(v, ESTATE.now + 40 * 86_400)).length, 2, 'the fresh HIGH finding breaches its 30-day SLA 40 days on');
});

t.test('malformed bundles are refused with a reason', async (t) => {
  t.ok(await readBundle(Buffer.from('not a bundle')).catch((e) => e instanceof InvalidBundleError), 'an InvalidBundleError');
  await t.rejects(readBundle(Buffer.from('not a bundle')), /not a gzipped tar archive/);
  const files = await untar(await fs.readFile(SHIPPED));
  const without = (name: string) => {
    const copy = new Map(files);
    copy.delete(name);
    return tar(copy);
  };
  await t.rejects(readBundle(await without('/policy.wasm')), /no \/policy.wasm/);
  await t.rejects(readBundle(await without('/.manifest')), /no \/.manifest/);
  await t.rejects(readBundle(await shippedAsRevision('')), /no revision/);
  const corrupt = await shippedAsRevision('corrupt', (f) => f.set('/policy.wasm', Buffer.from('\0asm garbage')));
  await t.rejects(load(corrupt), /policy.wasm could not be loaded/);
});

const opa = opaBinary();
if (!opa && IN_CI) t.fail('the OPA CLI is required in CI (npm run tools:opa): Rego-compiling tests cannot be skipped there');
const skip = opa ? false : 'OPA CLI not installed (npm run tools:opa installs it with Go); this machine skips the tests that compile Rego';

t.test('bundles built from other Rego: missing entrypoints and unsupported builtins are refused at load', { skip }, async (t) => {
  if (!opa) return;
  const dir = await tempDir();
  const build = async (name: string, rego: string, entrypoints: string[]) => {
    await fs.writeFile(path.join(dir, `${name}.rego`), rego);
    const out = path.join(dir, `${name}.tar.gz`);
    execFileSync(opa, ['build', '-t', 'wasm', ...entrypoints.flatMap((e) => ['-e', e]), '--revision', name, '-o', out, path.join(dir, `${name}.rego`)]);
    return fs.readFile(out);
  };
  const other = await build('other', 'package other\nallow := true\n', ['other/allow']);
  await t.rejects(load(other), /lacks the entrypoints custos\/compliance\/violations, custos\/compliance\/rules, custos\/access\/decision \(has: other\/allow\)/);

  // time.now_ns compiles for Wasm but the JS SDK lacks it: refused at load, never at evaluation.
  const clock = await build(
    'clock',
    'package custos.compliance\nviolations contains {"now": time.now_ns()} if { true }\nrules contains {"id": "x", "severity": "low", "controls": []} if { true }\n',
    ['custos/compliance/violations', 'custos/compliance/rules'],
  );
  await t.rejects(load(clock), /needs builtins the Wasm engine lacks: time.now_ns/);
});
