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
