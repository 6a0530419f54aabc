import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { InvalidBundleError, type PolicyBundle } from './bundle.js';
import { COMPLIANCE_RULES, COMPLIANCE_VIOLATIONS, ENTRYPOINTS } from './entrypoints.js';

// 64 KiB pages: start at 2 MiB, never beyond 256 MiB, so one huge input cannot take the process.
const MEMORY = { initial: 32, maximum: 4096 };
// Whole-estate evaluations: up to 2 GiB, in an instance used once and dropped, because Wasm
// memory never shrinks and pooled instances would keep that peak for good.
const LARGE_MEMORY = { initial: 256, maximum: 32768 };
const POOL_SIZE = 2;

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
  package: string;
}

/** The SDK answers `[{ result }]`, or `[]` when the entrypoint is undefined for the input. */
function toEvaluation(results: Array<{ result: unknown }>): Evaluation {
  return results.length === 0 ? { defined: false, result: null } : { defined: true, result: results[0]!.result };
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
 * One compiled bundle, ready to evaluate in-process. A Wasm instance is synchronous and not
 * re-entrant, so evaluations take an idle instance from a small pool; an instance that traps (e.g.
 * out of memory) is thrown away and replaced rather than reused in an unknown state.
 */
export class PolicyEngine {
  private readonly idle: LoadedPolicy[];
  /** Service data (catalog, principals, grants) under data.custos.runtime; see src/access/runtime.ts. */
  private runtime: unknown;

  private constructor(
    readonly bundle: PolicyBundle,
    readonly entrypoints: string[],
    instances: LoadedPolicy[],
  ) {
    this.idle = instances;
  }

  /** Sets data.custos.runtime on every instance, beside the bundle's own data. */
  setRuntimeData(runtime: unknown): void {
    this.runtime = runtime;
    const data = this.data();
    for (const instance of this.idle) instance.setData(data);
  }

  private data(): Record<string, unknown> {
    if (this.runtime === undefined) return this.bundle.data;
    const custos = (this.bundle.data.custos ?? {}) as Record<string, unknown>;
    return { ...this.bundle.data, custos: { ...custos, runtime: this.runtime } };
  }

  get revision(): string {
    return this.bundle.manifest.revision;
  }

  private static async instantiate(bundle: PolicyBundle, memory: WebAssembly.MemoryDescriptor = MEMORY): Promise<LoadedPolicy> {
    const policy = await loadPolicy(bundle.wasm, memory);
    policy.setData(bundle.data);
    return policy;
  }

  /** Compiles a bundle and proves it usable: the service's entrypoints exist and evaluate. */
  static async load(bundle: PolicyBundle): Promise<PolicyEngine> {
    let first: LoadedPolicy;
    try {
      first = await PolicyEngine.instantiate(bundle);
    } catch (error) {
      throw new InvalidBundleError(`policy.wasm could not be loaded: ${(error as Error).message}`);
    }
    const unsupported = requiredBuiltins(first).filter((name) => !SDK_BUILTINS.has(name));
    if (unsupported.length) {
      throw new InvalidBundleError(`bundle needs builtins the Wasm engine lacks: ${unsupported.join(', ')}`);
    }
    const entrypoints = Object.keys(first.entrypoints as Record<string, number>).sort();
    const missing = ENTRYPOINTS.filter((e) => !entrypoints.includes(e));
    if (missing.length) throw new InvalidBundleError(`bundle lacks the entrypoints ${missing.join(', ')} (has: ${entrypoints.join(', ') || 'none'})`);

    const instances = [first];
    for (let i = 1; i < POOL_SIZE; i++) instances.push(await PolicyEngine.instantiate(bundle));
    const engine = new PolicyEngine(bundle, entrypoints, instances);
    engine.selfTest();
    return engine;
  }

  /** A test evaluation before a bundle is accepted: both entrypoints answer in the expected shape. */
  private selfTest(): void {
    let rules: unknown;
    let violations: unknown;
    try {
      rules = this.evaluate(COMPLIANCE_RULES, {}).result;
      violations = this.evaluate(COMPLIANCE_VIOLATIONS, { now: 0, resources: [], findings: [], lake_formation: { permissions: [] }, catalog: { assets: [], approved_grants: [] } }).result;
    } catch (error) {
      throw new InvalidBundleError(`test evaluation failed: ${(error as Error).message}`);
    }
    if (!Array.isArray(rules) || rules.some((r) => typeof r?.id !== 'string' || typeof r?.severity !== 'string' || !Array.isArray(r?.controls))) {
      throw new InvalidBundleError(`${COMPLIANCE_RULES} must be a set of rule metadata with id, severity and controls`);
    }
    if (!Array.isArray(violations)) throw new InvalidBundleError(`${COMPLIANCE_VIOLATIONS} must be a set`);
  }

  /** The rules in the bundle, with the metadata of their # METADATA blocks. */
  rules(): RuleMetadata[] {
    return (this.evaluate(COMPLIANCE_RULES, {}).result as RuleMetadata[]).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Evaluates a large input (a whole collection run) in a fresh instance with room to grow. */
  async evaluateLarge(entrypoint: string, input: unknown): Promise<Evaluation> {
    const instance = await PolicyEngine.instantiate(this.bundle, LARGE_MEMORY);
    return toEvaluation(instance.evaluate(input, entrypoint));
  }

  /** Evaluates one entrypoint for one input. Throws if the engine fails: callers fail closed. */
  evaluate(entrypoint: string, input: unknown): Evaluation {
    const instance = this.idle.pop();
    if (!instance) throw new Error('no idle policy instance (re-entrant evaluation)');
    let healthy = true;
    try {
      return toEvaluation(instance.evaluate(input, entrypoint));
    } catch (error) {
      healthy = false;
      throw error;
    } finally {
      if (healthy) this.idle.push(instance);
      else
        void PolicyEngine.instantiate(this.bundle).then((fresh) => {
          fresh.setData(this.data());
          this.idle.push(fresh);
        });
    }
  }
}
