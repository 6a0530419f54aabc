import t from 'tap';
import { CanonicalText, canonicalJson, sha256 } from '../../src/evidence/chain.js';

// An evaluation's evidence bodies list each finding under every control it fails, written once as
// CanonicalText (src/evidence/evaluation-evidence.ts). An auditor verifies a body by hashing the
// canonical JSON of the parsed body: both must give the same text, hence the same SHA-256.
t.test('canonicalJson copies CanonicalText as written: the same text as the value itself gives', async (t) => {
  const finding = { region: 'eu-west-1', id: 'f1', msg: 'bucket "a" is public – ünïcode', account: '111122223333', exception_id: null, nested: { z: 1, a: [2, { y: true, b: null }] } };
  const entry = CanonicalText.of(finding);
  const body = { status: 'failing', failing_findings: [entry, entry], excepted_findings: [] };
  const plain = { excepted_findings: [], status: 'failing', failing_findings: [finding, finding] };
  t.equal(canonicalJson(body), canonicalJson(plain));
  t.equal(sha256(canonicalJson(JSON.parse(canonicalJson(body)))), sha256(canonicalJson(body)), 'what a verifier recomputes from the stored body');
  t.equal(canonicalJson(entry), canonicalJson(finding));
  t.match(canonicalJson(entry), /^\{"account":/, 'keys sorted inside the written part too');
});

// The nested joins canonicalJson was until session 16: every body hashed before then was written by
// it, and a verifier recomputes those hashes with today's canonicalJson.
function nestedJoins(value: unknown): string {
  if (value instanceof CanonicalText) return canonicalJson(value);
  if (Array.isArray(value)) return `[${value.map(nestedJoins).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${nestedJoins((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

t.test('canonicalJson writes the same text as the nested joins it replaced, odd values included', async (t) => {
  const entry = CanonicalText.of({ b: 1, a: 'x' });
  const values: unknown[] = [
    null, true, 0, -1.5e-7, 'ünï "quoted" \u2028', [], {}, [[]], [{}], { a: [] },
    { z: { y: { x: [1, 'two', null, false, { b: 2, a: 1 }] } }, a: 'first' },
    [1, undefined, 3], { keep: 1, drop: undefined }, [undefined], { f: () => 1 }, [() => 1, Symbol('s')],
    { when: new Date(0) }, [entry, { nested: entry }], { entries: [entry, entry], n: 2 },
    { '': 'empty key', 'ключ': 'unicode key', '"q"': 'quoted key' },
    Array.from({ length: 1000 }, (_, i) => ({ i, s: `s${i}` })),
  ];
  for (const [i, value] of values.entries()) t.equal(canonicalJson(value), nestedJoins(value), `value ${i}`);
  t.equal(canonicalJson(undefined), undefined, 'undefined alone stays undefined, as JSON.stringify gives');
});
