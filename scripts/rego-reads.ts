/**
 * What each rule of scope `resource` or `account` really reads of the input's shared parts, from
 * its syntax tree (`opa parse --format json`), against what its METADATA declares in `custom.reads`.
 *
 * Why: an incremental evaluation reuses a resource rule's verdicts on unchanged items (an account
 * rule's, in accounts whose items are unchanged) when the shared parts it declares are unchanged
 * (src/evaluation/partition.ts). A rule that reads `now` or
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
    visitTerms(rule, (term) => {
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
      } else if (term.type === 'var' && term.value === 'input') entry.parts.add(ALL);
      else if (term.type === 'var' && typeof term.value === 'string') entry.names.add(term.value);
    });
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

/** Item types of the input's item lists: what `custom.item_types` names (src/evaluation/partition.ts). */
const FINDING_TYPE = 'AWS::SecurityHub::Finding';
const PERMISSION_TYPE = 'AWS::LakeFormation::Permission';
/** Library functions whose first argument is the resource type they read (`lib.resources(type)`). */
const TYPED_READERS = new Set(['resources', 'regional']);

/** The item types one input reference reads: ALL for `input.resources` itself (every type). */
function itemsOfInputRef(ref: Term[]): string[] {
  const first = ref[1];
  if (!first || first.type !== 'string') return [ALL];
  if (first.value === 'resources') return [ALL];
  if (first.value === 'findings') return [FINDING_TYPE];
  if (first.value !== 'lake_formation') return [];
  const second = ref[2];
  return !second || second.type !== 'string' || second.value === 'permissions' ? [PERMISSION_TYPE] : [];
}

/** Every string in a subtree that names an AWS type: the candidates a variable type argument may take. */
function awsTypesIn(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((child) => awsTypesIn(child, found));
  else if (node && typeof node === 'object') {
    const term = node as Term;
    if (term.type === 'string' && typeof term.value === 'string' && /^AWS::\w+::\w+$/.test(term.value)) found.add(term.value);
    else Object.values(node).forEach((child) => awsTypesIn(child, found));
  }
  return found;
}

/**
 * The item types each rule file reads (ALL = '*' when it cannot tell): `lib.resources(<type>)` and
 * `lib.regional(<type>, …)` by their argument (a literal, or a variable, taken as any AWS type
 * named in the same rule), `input.findings` and `input.lake_formation.permissions` as their item
 * types, `input.resources` itself (or the whole input) as every type, and the library's other rules
 * by what they read. An account rule is evaluated over its accounts' items of the types its
 * `custom.item_types` declares: one that reads an undeclared type would miss those items in parts.
 */
export function itemTypesRead(opa: string, libFile: string, ruleFiles: string[]): Map<string, Set<string>> {
  // The library's own rules (but the typed readers, judged at their call): do they read items?
  const libItems = new Map<string, Set<string>>();
  for (const rule of parse(opa, libFile).rules ?? []) {
    const name = rule.head.name ?? ((rule.head.ref?.[0]?.value as string | undefined) ?? '');
    if (TYPED_READERS.has(name)) continue;
    const items = libItems.get(name) ?? new Set<string>();
    libItems.set(name, items);
    visitRefs(rule, (ref) => {
      if (ref[0]?.type === 'var' && ref[0].value === 'input') itemsOfInputRef(ref).forEach((t) => items.add(t));
    });
    if (readsWholeInput(rule)) items.add(ALL);
  }
  const result = new Map<string, Set<string>>();
  for (const file of ruleFiles) {
    const items = new Set<string>();
    const module = parse(opa, file);
    // The package's constants (`trail_type := "AWS::CloudTrail::Trail"`), for a type named by one.
    const constants = new Map<string, string>();
    for (const rule of module.rules ?? []) {
      const value = (rule.head as { value?: Term }).value;
      if (rule.head.name && value?.type === 'string') constants.set(rule.head.name, value.value as string);
    }
    for (const rule of module.rules ?? []) {
      const candidates = awsTypesIn(rule);
      visitTerms(rule, (term) => {
        if (term.type === 'call' && Array.isArray(term.value)) {
          const [fn, first] = term.value as Term[];
          const ref = fn?.type === 'ref' ? (fn.value as Term[]) : [];
          if (ref[0]?.type === 'var' && ref[0].value === 'lib' && ref[1]?.type === 'string' && TYPED_READERS.has(ref[1].value as string)) {
            if (first?.type === 'string') items.add(first.value as string);
            else if (first?.type === 'var' && constants.has(first.value as string)) items.add(constants.get(first.value as string)!);
            else if (candidates.size > 0) candidates.forEach((t) => items.add(t));
            else items.add(ALL);
          }
        }
        if (term.type === 'ref' && Array.isArray(term.value)) {
          const ref = term.value as Term[];
          if (ref[0]?.type === 'var' && ref[0].value === 'input') itemsOfInputRef(ref).forEach((t) => items.add(t));
          if (ref[0]?.type === 'var' && ref[0].value === 'lib' && ref[1]?.type === 'string') libItems.get(ref[1].value as string)?.forEach((t) => items.add(t));
        }
        if (term.type === 'var' && term.value === 'input') items.add(ALL);
      });
    }
    result.set(file, items);
  }
  return result;
}

function visitTerms(node: unknown, visit: (term: Term) => void): void {
  if (Array.isArray(node)) return node.forEach((child) => visitTerms(child, visit));
  if (!node || typeof node !== 'object') return;
  const term = node as Term;
  if (typeof term.type === 'string' && 'value' in term) visit(term);
  // A ref's head is its first term: a bare `input` var there is the reference itself, not the whole input.
  if (term.type === 'ref' && Array.isArray(term.value)) return (term.value as Term[]).slice(1).forEach((child) => visitTerms(child, visit));
  Object.values(node).forEach((child) => visitTerms(child, visit));
}
const visitRefs = (node: unknown, visit: (ref: Term[]) => void) => visitTerms(node, (term) => term.type === 'ref' && Array.isArray(term.value) && visit(term.value as Term[]));
/** A bare `input` (the whole input) anywhere in the rule. */
function readsWholeInput(node: unknown): boolean {
  let whole = false;
  visitTerms(node, (term) => {
    if (term.type === 'var' && term.value === 'input') whole = true;
  });
  return whole;
}

/** Problems: an account rule reading item types its `custom.item_types` does not declare. */
export function undeclaredItemTypes(read: Set<string>, declared: string[]): string[] {
  if (read.has(ALL)) return [`reads every resource type (input.resources, the whole input, or lib.resources with a type it cannot tell) but declares only [${declared.join(', ')}] in custom.item_types`];
  const missing = [...read].filter((type) => !declared.includes(type));
  return missing.length ? [`reads items of ${missing.join(', ')} without declaring them in custom.item_types`] : [];
}
