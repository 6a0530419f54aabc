/**
 * What each rule of scope `resource` really reads of the input's shared parts, from its syntax tree
 * (`opa parse --format json`), against what its METADATA declares in `custom.reads`.
 *
 * Why: an incremental evaluation reuses a resource rule's verdicts on unchanged items when the
 * shared parts it declares are unchanged (src/evaluation/partition.ts). A rule that reads `now` or
 * the catalog without declaring it would keep yesterday's verdict after the catalog or the clock
 * moved: a verdict on data not seen. The build refuses such a rule.
 *
 * The reading is conservative: a reference to `input` that is not `input.<name>` (the whole input,
 * or `input[x]`) counts as reading every shared part, and a call of any rule of the library counts
 * what that rule reads, transitively. Items are not shared parts: `input.resources`,
 * `input.findings`, `input.lake_formation.permissions`; every other `input.<name>` is the part
 * `<name>`, and `input.lake_formation.<name>` the part `<name>` (src/evaluation/partition.ts,
 * sharedParts).
 */
import { execFileSync } from 'node:child_process';

type Term = { type: string; value: unknown };
const ALL = '*';
const ITEMS = new Set(['resources', 'findings']);

/** The shared parts one input reference reads: none for items, ALL when it cannot tell. */
function partsOfInputRef(ref: Term[]): string[] {
  const first = ref[1];
  if (!first || first.type !== 'string') return [ALL];
  const name = first.value as string;
  if (ITEMS.has(name)) return [];
  if (name !== 'lake_formation') return [name];
  const second = ref[2];
  if (!second || second.type !== 'string') return [ALL];
  return second.value === 'permissions' ? [] : [second.value as string];
}

/** Walks a parsed module's rules: the shared parts each rule reads itself, and the names it refers to. */
function readsOfModule(module: { rules?: Array<{ head: { name?: string; ref?: Term[] } }> }) {
  const rules = new Map<string, { parts: Set<string>; names: Set<string> }>();
  for (const rule of module.rules ?? []) {
    const name = rule.head.name ?? ((rule.head.ref?.[0]?.value as string | undefined) ?? '');
    const entry = rules.get(name) ?? { parts: new Set<string>(), names: new Set<string>() };
    rules.set(name, entry);
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach((child) => visit(child));
      if (!node || typeof node !== 'object') return;
      const term = node as Term;
      if (term.type === 'ref' && Array.isArray(term.value)) {
        const ref = term.value as Term[];
        const head = ref[0];
        if (head?.type === 'var' && head.value === 'input') for (const part of partsOfInputRef(ref)) entry.parts.add(part);
        else if (head?.type === 'var') {
          entry.names.add(head.value as string);
          // lib.<rule> (the import's alias) or data.custos.lib.<rule>
          const libRule = head.value === 'lib' ? ref[1] : head.value === 'data' && ref[1]?.value === 'custos' && ref[2]?.value === 'lib' ? ref[3] : undefined;
          if (libRule?.type === 'string') entry.names.add(`lib.${libRule.value as string}`);
        }
        ref.slice(1).forEach((child) => visit(child));
        return;
      }
      if (term.type === 'var' && term.value === 'input') entry.parts.add(ALL);
      else if (term.type === 'var' && typeof term.value === 'string') entry.names.add(term.value);
      for (const value of Object.values(node)) visit(value);
    };
    visit(rule);
  }
  return rules;
}

const parse = (opa: string, file: string) => JSON.parse(execFileSync(opa, ['parse', '--format', 'json', '--json-include', '-comments', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));

/**
 * For each rule file, the shared parts its rules read (ALL = '*' when it cannot tell), including
 * what the library rules it calls read. `libFile`: rego/custos/lib/lib.rego.
 */
export function sharedPartsRead(opa: string, libFile: string, ruleFiles: string[]): Map<string, Set<string>> {
  const lib = readsOfModule(parse(opa, libFile));
  // The library's rules, closed over their calls of one another (Rego has no recursion: no cycles).
  const libParts = new Map<string, Set<string>>();
  const closure = (name: string): Set<string> => {
    let parts = libParts.get(name);
    if (parts) return parts;
    libParts.set(name, (parts = new Set<string>()));
    const entry = lib.get(name);
    if (!entry) return parts;
    entry.parts.forEach((p) => parts!.add(p));
    for (const called of entry.names) if (lib.has(called) && called !== name) closure(called).forEach((p) => parts!.add(p));
    return parts;
  };
  const result = new Map<string, Set<string>>();
  for (const file of ruleFiles) {
    const parts = new Set<string>();
    for (const entry of readsOfModule(parse(opa, file)).values()) {
      entry.parts.forEach((p) => parts.add(p));
      for (const name of entry.names) if (name.startsWith('lib.')) closure(name.slice(4)).forEach((p) => parts.add(p));
    }
    result.set(file, parts);
  }
  return result;
}

/** Problems: a resource rule reading a shared part its `custom.reads` does not declare. */
export function undeclaredReads(read: Set<string>, declared: string[], known: readonly string[]): string[] {
  if (read.has(ALL)) return known.filter((part) => !declared.includes(part)).length ? [`reads the whole input (or input[x]) but declares only [${declared.join(', ')}]`] : [];
  const missing = [...read].filter((part) => !declared.includes(part));
  return missing.length ? [`reads ${missing.map((p) => `input…${p}`).join(', ')} without declaring ${missing.join(', ')} in custom.reads`] : [];
}
