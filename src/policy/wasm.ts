/**
 * The Wasm side of the policy engine, used only inside worker threads (src/policy/worker.ts): the
 * main thread never compiles or runs a bundle's code, so a bundle that loops or a policy that runs
 * long can be stopped by terminating its thread.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { InvalidBundleError, readBundle, type BundleManifest } from './bundle.js';
import { COMPLIANCE_RULES, COMPLIANCE_VIOLATIONS, ENTRYPOINTS, RULE_SCOPES, type RuleScope } from './entrypoints.js';

// 64 KiB pages: start at 2 MiB, never beyond 256 MiB, so one huge input cannot take the process.
export const MEMORY = { initial: 32, maximum: 4096 } as const;
// Whole-estate evaluations: up to 2 GiB, in an instance used once and dropped, because Wasm
// memory never shrinks and pooled instances would keep that peak for good.
export const LARGE_MEMORY = { initial: 256, maximum: 32768 } as const;

/** The builtins the JS SDK provides: a bundle needing any other fails at load, not at evaluation. */
const SDK_BUILTINS: ReadonlySet<string> = new Set(
  (
    JSON.parse(
      readFileSync(path.join(path.dirname(createRequire(import.meta.url).resolve('@open-policy-agent/opa-wasm')), '..', 'capabilities.json'), 'utf8'),
    ) as { builtins: Array<{ name: string }> }
  ).builtins.map((b) => b.name),
);

export interface Evaluation {
  /** False when the entrypoint is undefined for this input (the policy said nothing). */
  defined: boolean;
  result: unknown;
}

export interface RuleMetadata {
  id: string;
  title: string;
  description: string;
  severity: string;
  controls: string[];
  resource_types: string[];
  remediation: string;
  /** Present (true) on rules whose low-risk remediation may run without approval (CUSTOS_AUTO_REMEDIATE). */
  auto_remediate?: boolean;
  /** Present (true) on rules for which no resource of their types is compliance, when the type was listed completely. */
  absence_is_compliance?: boolean;
  /** Present on rules that conclude from absence: where the types they rely on must be listed completely (src/sources/coverage.ts). */
  listing_scope?: 'region' | 'account' | 'account_regions' | 'resources';
  /** With `listing_scope`: the types whose complete listing the rule needs (default: its resource_types). */
  listed_types?: string[];
  /**
   * How its violations depend on the input (custom.scope; `global` when a bundle does not say):
   * an estate is evaluated in parts by it (src/evaluation/partition.ts).
   */
  scope: RuleScope;
  /** Scope resource: the shared parts of the input it reads besides its items (now, catalog, ...); absent: all of them. */
  reads?: string[];
  /**
   * Scope account: the types of the items it reads (resources of those types; AWS::SecurityHub::Finding
   * for findings, AWS::LakeFormation::Permission for permissions); absent: every item of its accounts.
   */
  item_types?: string[];
  package: string;
}

/** What a worker learns from a bundle archive it has read, compiled and test-evaluated. */
export interface Inspection {
  sha256: string;
  manifest: BundleManifest;
  wasm: Uint8Array;
  /** The bundle's data.json, parsed. */
  data: Record<string, unknown>;
  entrypoints: string[];
  rules: RuleMetadata[];
}

/** The SDK answers `[{ result }]`, or `[]` when the entrypoint is undefined for the input. */
export function toEvaluation(results: Array<{ result: unknown }>): Evaluation {
  return results.length === 0 ? { defined: false, result: null } : { defined: true, result: results[0]!.result };
}

export function instantiate(wasm: BufferSource | WebAssembly.Module, memory: WebAssembly.MemoryDescriptor = MEMORY): Promise<LoadedPolicy> {
  return loadPolicy(wasm, { ...memory });
}

/** Builtins the compiled module calls on its host: its `builtins` export, a JSON object name → id. */
function requiredBuiltins(policy: LoadedPolicy): string[] {
  const wasm = policy.wasmInstance as WebAssembly.Instance | WebAssembly.WebAssemblyInstantiatedSource;
  const instance = 'instance' in wasm ? wasm.instance : wasm;
  const exports = instance.exports as { builtins(): number; opa_json_dump(address: number): number };
  const address = exports.opa_json_dump(exports.builtins());
  const memory = new Uint8Array(policy.mem.buffer);
  const end = memory.indexOf(0, address);
  return Object.keys(JSON.parse(Buffer.from(memory.subarray(address, end)).toString('utf8')));
}

/**
 * Reads a bundle.tar.gz, compiles it and proves it usable: no builtin the SDK lacks, the service's
 * entrypoints exist and answer in the expected shape. Throws InvalidBundleError naming the problem.
 */
export async function inspectBundle(archive: Buffer): Promise<Inspection> {
  const bundle = await readBundle(archive);
  let policy: LoadedPolicy;
  try {
    policy = await instantiate(bundle.wasm);
  } catch (error) {
    throw new InvalidBundleError(`policy.wasm could not be loaded: ${(error as Error).message ?? error}`);
  }
  const unsupported = requiredBuiltins(policy).filter((name) => !SDK_BUILTINS.has(name));
  if (unsupported.length) throw new InvalidBundleError(`bundle needs builtins the Wasm engine lacks: ${unsupported.join(', ')}`);
  const entrypoints = Object.keys(policy.entrypoints as Record<string, number>).sort();
  const missing = ENTRYPOINTS.filter((e) => !entrypoints.includes(e));
  if (missing.length) throw new InvalidBundleError(`bundle lacks the entrypoints ${missing.join(', ')} (has: ${entrypoints.join(', ') || 'none'})`);

  policy.setData(bundle.data);
  let rules: unknown;
  let violations: unknown;
  try {
    rules = toEvaluation(policy.evaluate({}, COMPLIANCE_RULES)).result;
    violations = toEvaluation(
      policy.evaluate({ now: 0, resources: [], findings: [], lake_formation: { permissions: [] }, catalog: { assets: [], approved_grants: [] } }, COMPLIANCE_VIOLATIONS),
    ).result;
  } catch (error) {
    throw new InvalidBundleError(`test evaluation failed: ${(error as Error).message ?? error}`);
  }
  if (!Array.isArray(rules) || rules.some((r) => typeof r?.id !== 'string' || typeof r?.severity !== 'string' || !Array.isArray(r?.controls))) {
    throw new InvalidBundleError(`${COMPLIANCE_RULES} must be a set of rule metadata with id, severity and controls`);
  }
  if (!Array.isArray(violations)) throw new InvalidBundleError(`${COMPLIANCE_VIOLATIONS} must be a set`);
  for (const rule of rules as Array<Partial<RuleMetadata>>) {
    // A bundle that does not say how a rule depends on the input is evaluated whole for it.
    rule.scope ??= 'global';
    if (!RULE_SCOPES.includes(rule.scope)) throw new InvalidBundleError(`rule ${rule.id}: scope must be one of ${RULE_SCOPES.join(', ')}, got ${JSON.stringify(rule.scope)}`);
    if (rule.reads !== undefined && !(Array.isArray(rule.reads) && rule.reads.every((r) => typeof r === 'string'))) {
      throw new InvalidBundleError(`rule ${rule.id}: reads must be a list of input parts`);
    }
    if (rule.item_types !== undefined && !(Array.isArray(rule.item_types) && rule.item_types.every((r) => typeof r === 'string'))) {
      throw new InvalidBundleError(`rule ${rule.id}: item_types must be a list of item types`);
    }
  }
  return {
    sha256: bundle.sha256,
    manifest: bundle.manifest,
    wasm: new Uint8Array(bundle.wasm),
    data: bundle.data,
    entrypoints,
    rules: (rules as RuleMetadata[]).sort((a, b) => a.id.localeCompare(b.id)),
  };
}
