import { canonicalJson } from '../evidence/chain.js';

/** One way two policy results differ: a value changed, or a key or list item is only on one side. */
export interface Difference {
  /** Where, e.g. `decision`, `obligations.mask.ssn`, `[]` (an item of the top-level list). */
  path: string;
  change: 'added' | 'removed' | 'changed';
  /** The value on the first (original or baseline) side; absent when added. */
  before?: unknown;
  /** The value on the second (current or candidate) side; absent when removed. */
  after?: unknown;
}

export const sameResult = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What differs between two results, at most `limit` differences (then `truncated`). Objects are
 * compared key by key; lists as multisets (policy results such as violations are sets, so an item
 * is added or removed, never "moved"); anything else by value.
 */
export function diffResults(before: unknown, after: unknown, limit = 100): { differences: Difference[]; truncated: boolean } {
  const differences: Difference[] = [];
  let truncated = false;
  const push = (d: Difference) => {
    if (differences.length >= limit) truncated = true;
    else differences.push(d);
  };
  const walk = (a: unknown, b: unknown, path: string) => {
    if (truncated) return;
    if (isObject(a) && isObject(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        const where = path ? `${path}.${key}` : key;
        if (!(key in b)) push({ path: where, change: 'removed', before: a[key] });
        else if (!(key in a)) push({ path: where, change: 'added', after: b[key] });
        else walk(a[key], b[key], where);
      }
    } else if (Array.isArray(a) && Array.isArray(b)) {
      const counts = new Map<string, { item: unknown; n: number }>();
      for (const item of b) {
        const key = canonicalJson(item);
        const entry = counts.get(key) ?? { item, n: 0 };
        entry.n++;
        counts.set(key, entry);
      }
      for (const item of a) {
        const entry = counts.get(canonicalJson(item));
        if (entry && entry.n > 0) entry.n--;
        else push({ path: `${path}[]`, change: 'removed', before: item });
      }
      for (const { item, n } of counts.values()) for (let i = 0; i < n; i++) push({ path: `${path}[]`, change: 'added', after: item });
    } else if (!sameResult(a, b)) {
      push({ path: path || '(result)', change: 'changed', before: a ?? null, after: b ?? null });
    }
  };
  walk(before, after, '');
  return { differences, truncated };
}
