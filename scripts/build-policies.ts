/**
 * Builds the policy bundle from rego/: `opa check --strict`, then `opa build -t wasm` limited to the
 * builtins the @open-policy-agent/opa-wasm SDK implements (minus time.*: policies never read the
 * clock), so an unsupported builtin fails here rather than at evaluation.
 *
 *   tsx scripts/build-policies.ts           writes policies/bundle.tar.gz
 *   tsx scripts/build-policies.ts --check   fails if policies/bundle.tar.gz differs from a fresh build
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBundle } from '../src/policy/bundle.js';
import { ENTRYPOINTS, RULE_SCOPES, SCOPED_VIOLATIONS } from '../src/policy/entrypoints.js';
import { itemTypesRead, sharedPartsRead, undeclaredItemTypes, undeclaredReads } from './rego-reads.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const regoDir = path.join(root, 'rego');
const bundlePath = path.join(root, 'policies', 'bundle.tar.gz');

function opaBinary(): string {
  if (process.env.OPA) return process.env.OPA;
  return execFileSync('bash', [path.join(root, 'scripts', 'install-opa.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

function regoSources(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.rego') && !entry.name.endsWith('_test.rego'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/** The revision names the sources: the same rego/ always builds the same revision. */
function revisionOf(files: string[]): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(path.relative(regoDir, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  return `rego-${hash.digest('hex').slice(0, 16)}`;
}

function capabilitiesFile(opa: string, dir: string): string {
  const current = JSON.parse(execFileSync(opa, ['capabilities', '--current'], { encoding: 'utf8' }));
  const sdk = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/@open-policy-agent/opa-wasm/capabilities.json'), 'utf8'));
  // rego.metadata.* is rewritten at compile time into constants, so Wasm never calls it.
  const compileTime = current.builtins.filter((b: { name: string }) => b.name.startsWith('rego.metadata.'));
  const builtins = [...sdk.builtins.filter((b: { name: string }) => !b.name.startsWith('time.')), ...compileTime];
  const file = path.join(dir, 'capabilities.json');
  fs.writeFileSync(file, JSON.stringify({ ...current, builtins }));
  return file;
}

/** The input's shared parts a resource or account rule may read (src/evaluation/partition.ts, sharedParts). */
const SHARED_PARTS = ['now', 'catalog', 'coverage', 'lf_tag_assignments'] as const;
/** The scopes whose rules declare those reads: their verdicts are reused while the reads are unchanged. */
const READING_SCOPES = ['resource', 'account'];

/**
 * Every rule's METADATA says how its violations depend on the input (custom.scope), a rule of
 * scope resource or account which shared parts it reads (custom.reads), and a rule of scope
 * account the types of the items it reads (custom.item_types): the service evaluates estates in
 * parts and reuses verdicts by them (src/evaluation/partition.ts), so a rule that does not say is
 * refused here.
 */
function checkScopes(opa: string) {
  const inspected = JSON.parse(execFileSync(opa, ['inspect', '-a', '--format', 'json', 'rego'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, cwd: root }));
  const problems: string[] = [];
  const readingRules: Array<{ where: string; file: string; reads: string[] }> = [];
  const accountRules: Array<{ where: string; file: string; itemTypes: string[] }> = [];
  for (const { annotations, path: refPath, location } of inspected.annotations ?? []) {
    const custom = annotations?.custom;
    if (annotations?.scope !== 'package' || typeof custom?.id !== 'string') continue;
    const where = `${custom.id} (${(refPath ?? []).map((p: { value: string }) => p.value).join('.')})`;
    if (!RULE_SCOPES.includes(custom.scope)) problems.push(`${where}: custom.scope must be one of ${RULE_SCOPES.join(', ')}`);
    else if (READING_SCOPES.includes(custom.scope) && !(Array.isArray(custom.reads) && custom.reads.every((r: unknown) => (SHARED_PARTS as readonly unknown[]).includes(r)))) {
      problems.push(`${where}: a rule of scope ${custom.scope} lists in custom.reads the shared input parts it reads ([] for none; ${SHARED_PARTS.join(', ')})`);
    } else if (READING_SCOPES.includes(custom.scope) && location?.file) readingRules.push({ where, file: path.resolve(root, location.file), reads: custom.reads });
    if (custom.scope === 'account' && !(Array.isArray(custom.item_types) && custom.item_types.every((t: unknown) => typeof t === 'string'))) {
      problems.push(`${where}: a rule of scope account lists in custom.item_types the types of the items it reads (AWS::SecurityHub::Finding for findings, AWS::LakeFormation::Permission for permissions)`);
    }
    if (custom.scope === 'account' && Array.isArray(custom.item_types) && location?.file) accountRules.push({ where, file: path.resolve(root, location.file), itemTypes: custom.item_types });
  }
  // What the rules really read, from their syntax trees: an under-declared `reads` would let an
  // incremental evaluation reuse a verdict after what it depends on changed (scripts/rego-reads.ts).
  const read = sharedPartsRead(opa, path.join(regoDir, 'custos', 'lib', 'lib.rego'), readingRules.map((r) => r.file));
  for (const rule of readingRules) for (const problem of undeclaredReads(read.get(rule.file)!, rule.reads, SHARED_PARTS)) problems.push(`${rule.where}: ${problem}`);
  // And an account rule's item types: one reading a type it does not declare would miss those items in parts.
  const items = itemTypesRead(opa, path.join(regoDir, 'custos', 'lib', 'lib.rego'), accountRules.map((r) => r.file));
  for (const rule of accountRules) for (const problem of undeclaredItemTypes(items.get(rule.file)!, rule.itemTypes)) problems.push(`${rule.where}: ${problem}`);
  if (problems.length) {
    console.error(`rule metadata incomplete:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
}

function build(opa: string, output: string, work: string) {
  checkScopes(opa);
  const capabilities = capabilitiesFile(opa, work);
  const run = (args: string[]) => {
    try {
      execFileSync(opa, args, { stdio: 'inherit', cwd: root });
    } catch {
      console.error(`opa ${args[0]} failed (see above)`);
      process.exit(1);
    }
  };
  run(['check', '--strict', '--capabilities', capabilities, 'rego']);
  const entrypointArgs = [...ENTRYPOINTS, ...Object.values(SCOPED_VIOLATIONS)].flatMap((e) => ['-e', e]);
  run([
    'build', '-t', 'wasm', ...entrypointArgs,
    '--capabilities', capabilities,
    '--revision', revisionOf(regoSources(regoDir)),
    '--ignore', '*_test.rego',
    '-o', output,
    'rego',
  ]);
}

const opa = opaBinary();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-policies-'));
try {
  if (process.argv.includes('--check')) {
    const fresh = path.join(work, 'bundle.tar.gz');
    build(opa, fresh, work);
    const [committed, rebuilt] = await Promise.all([readBundle(fs.readFileSync(bundlePath)), readBundle(fs.readFileSync(fresh))]);
    // Compare what is evaluated, not archive bytes (gzip headers carry timestamps).
    const stale: string[] = [];
    if (!committed.wasm.equals(rebuilt.wasm)) stale.push('policy.wasm');
    if (JSON.stringify(committed.data) !== JSON.stringify(rebuilt.data)) stale.push('data.json');
    if (committed.manifest.revision !== rebuilt.manifest.revision) stale.push(`revision (${committed.manifest.revision} vs ${rebuilt.manifest.revision})`);
    if (stale.length) {
      console.error(`policies/bundle.tar.gz is stale (${stale.join(', ')}): run npm run build:policies and commit it`);
      process.exit(1);
    }
    console.log(`policies/bundle.tar.gz matches rego/ (revision ${committed.manifest.revision})`);
  } else {
    fs.mkdirSync(path.dirname(bundlePath), { recursive: true });
    build(opa, bundlePath, work);
    const bundle = await readBundle(fs.readFileSync(bundlePath));
    console.log(`built policies/bundle.tar.gz: revision ${bundle.manifest.revision}, entrypoints ${ENTRYPOINTS.join(', ')}`);
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
