import t from 'tap';
import { sha256 } from '../../src/evidence/chain.js';
import { assessmentResults, OSCAL_VERSION, type OscalInput } from '../../src/evidence/oscal.js';
import { assertValid, schemaText, validate } from '../helpers/oscal.js';

const period = { from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:00Z' };
const base = {
  generatedAt: '2026-11-02T09:30:00.000Z',
  period,
  tool: { name: 'Custos', version: '0.1.0' },
  bundleRevisions: [] as string[],
  chainHead: '0'.repeat(64),
};

const empty: OscalInput = { ...base, controls: [], findings: [], attestations: [], exceptions: [] };

const control = (id: string, automation: OscalInput['controls'][number]['automation'], status: OscalInput['controls'][number]['status'], reason: string) => ({
  id,
  title: `Control ${id}`,
  automation,
  status,
  reason,
  daysTested: status === 'passing' ? 31 : 0,
  daysInPeriod: 31,
  evidencePath: `controls/${id}/`,
  evidenceItems: status === 'manual' ? 1 : 62,
});

const finding = (id: string, status: OscalInput['findings'][number]['status'], extra: Partial<OscalInput['findings'][number]> = {}) => ({
  id,
  ruleId: 's3_bucket_public',
  ruleTitle: 'S3 buckets are not public',
  severity: 'high',
  controls: ['CC6.6', 'CC6.1'],
  resourceType: 'AWS::S3::Bucket',
  resourceId: `arn:aws:s3:::bucket-${id.slice(0, 4)}`,
  account: '111122223333',
  region: 'eu-west-1',
  msg: 'bucket grants public read through its ACL',
  status,
  firstSeenAt: '2026-10-10T06:00:00Z',
  lastSeenAt: '2026-10-20T06:00:00Z',
  resolvedAt: null,
  exceptionId: null,
  ...extra,
});

const realistic: OscalInput = {
  ...base,
  bundleRevisions: ['rev-2026-09-30', 'rev-2026-10-15'],
  chainHead: 'a3f1'.repeat(16),
  controls: [
    control('CC6.1', 'automated', 'passing', 'no open finding of s3_bucket_encrypted'),
    control('CC6.6', 'automated', 'failing', '1 open finding(s) of s3_bucket_public'),
    control('CC7.2', 'partial', 'not_tested', 'the latest evaluation used a partial collection run:\nits data is incomplete'),
    control('CC1.1', 'manual', 'manual', 'no automated test: awaiting attestation by a compliance officer'),
  ],
  findings: [
    finding('0193a1f0-0000-7000-8000-000000000001', 'open'),
    finding('0193a1f0-0000-7000-8000-000000000002', 'resolved', { resolvedAt: '2026-10-15T06:00:00Z' }),
    finding('0193a1f0-0000-7000-8000-000000000003', 'excepted', { exceptionId: '0193a1f0-0000-7000-8000-0000000000e1', controls: ['CC6.6'] }),
  ],
  attestations: [
    { id: '0193a1f0-0000-7000-8000-0000000000a1', controlId: 'CC1.1', statement: 'The code of conduct was re-acknowledged by all staff.\nSee the attached HR report.', attestedBy: 'carol-compliance', attestedAt: '2026-10-05T12:00:00Z' },
  ],
  exceptions: [
    {
      id: '0193a1f0-0000-7000-8000-0000000000e1',
      ruleId: 's3_bucket_public',
      findingId: '0193a1f0-0000-7000-8000-000000000003',
      status: 'approved',
      justification: 'Public website assets bucket, reviewed by security.',
      compensatingControl: 'CloudFront only; bucket holds no client data.',
      expiresAt: '2027-01-31T00:00:00Z',
      requestedBy: 'dave-steward',
      decidedBy: 'carol-compliance',
    },
  ],
};

type Doc = { 'assessment-results': { metadata: Record<string, unknown>; results: Array<Record<string, any>>; 'back-matter': { resources: Array<Record<string, any>> } } };
const resultOf = (input: OscalInput) => (assessmentResults(input) as Doc)['assessment-results'].results[0]!;

t.test('the vendored schema is the official OSCAL 1.1.2 release file', async (t) => {
  t.equal(sha256(schemaText), 'd033da70154cf6625ae46a746199e88e58f2928b1387dfac051d381b92f41b0d', 'byte-identical to the release asset (evidence/README.md)');
  t.equal(JSON.parse(schemaText).$id, `http://csrc.nist.gov/ns/oscal/${OSCAL_VERSION}/oscal-ar-schema.json`, 'oscal-version matches the schema');
});

t.test('an empty period gives a valid document', async (t) => {
  const document = assessmentResults(empty) as Doc;
  assertValid(t, document);
  const ar = document['assessment-results'];
  t.match(ar.metadata, { 'oscal-version': OSCAL_VERSION, 'last-modified': '2026-11-02T09:30:00.000Z' });
  t.match(ar.results[0], { start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' });
  t.notOk(ar.results[0]!.findings, 'no empty arrays: OSCAL forbids them');
  t.notOk(ar.results[0]!.observations);
});

t.test('a realistic period gives a valid document that maps every part', async (t) => {
  const document = assessmentResults(realistic) as Doc;
  assertValid(t, document);
  const ar = document['assessment-results'];
  t.same(
    (ar.metadata.props as Array<{ name: string; value: string }>).map((p) => [p.name, p.value]),
    [['evidence-chain-head', realistic.chainHead], ['policy-bundle-revision', 'rev-2026-09-30'], ['policy-bundle-revision', 'rev-2026-10-15']],
  );
  const result = ar.results[0]!;
  t.same(result['reviewed-controls']['control-selections'][0]['include-controls'].map((c: { 'control-id': string }) => c['control-id']), ['cc6.1', 'cc6.6', 'cc7.2', 'cc1.1']);

  const state = Object.fromEntries(result.findings.map((f: any) => [f.target['target-id'], [f.target.status.state, f.target.status.reason]]));
  t.same(state, { 'cc6.1': ['satisfied', 'pass'], 'cc6.6': ['not-satisfied', 'fail'], 'cc7.2': ['not-satisfied', 'other'], 'cc1.1': ['not-satisfied', 'other'] });
  const cc72 = result.findings.find((f: any) => f.target['target-id'] === 'cc7.2');
  t.match(cc72.target.status.remarks, /^Not tested.*partial collection run/s, 'the reason a control was not tested is given');
  t.match(cc72.props, [{ name: 'control-id', value: 'CC7.2' }, { name: 'control-status', value: 'not_tested' }], 'the original id is kept');

  const methods = Object.fromEntries(result.observations.map((o: any) => [o.props[0].value, o.methods]));
  t.same(methods, { 'CC6.1': ['TEST'], 'CC6.6': ['TEST'], 'CC7.2': ['TEST', 'EXAMINE'], 'CC1.1': ['EXAMINE', 'INTERVIEW'] });
  const cc61 = result.observations.find((o: any) => o.props[0].value === 'CC6.1');
  t.match(cc61['relevant-evidence'], [{ href: 'controls/CC6.1/', description: /62 evidence item\(s\)/ }]);

  t.same(result.risks.map((r: any) => r.status), ['open', 'closed', 'deviation-approved']);
  const excepted = result.risks[2];
  const exceptionResource = ar['back-matter'].resources.find((r) => r.title.startsWith('Exception'));
  t.equal(excepted.links[0].href, `#${exceptionResource!.uuid}`, 'the excepted risk links to its exception');
  t.match(excepted, { deadline: '2027-01-31T00:00:00.000Z', 'mitigating-factors': [{ description: /CloudFront only/ }] });
  t.equal(result.risks[1]['risk-log'].entries[1]['status-change'], 'closed');
  const cc66 = result.findings.find((f: any) => f.target['target-id'] === 'cc6.6');
  t.same(cc66['related-risks'].map((r: any) => r['risk-uuid']), result.risks.map((r: any) => r.uuid), 'a control finding relates the risks that name it');

  t.match(result.attestations, [{ parts: [{ name: 'attestation', prose: /re-acknowledged/ }] }]);
  const attester = (ar.metadata.parties as Array<{ uuid: string; name: string }>)[0]!;
  t.equal(attester.name, 'carol-compliance');
  t.same(result.attestations[0]['responsible-parties'][0]['party-uuids'], [attester.uuid]);
});

t.test('the same input gives the same bytes', async (t) => {
  const once = JSON.stringify(assessmentResults(realistic));
  t.equal(JSON.stringify(assessmentResults(structuredClone(realistic))), once);
  const later = assessmentResults({ ...realistic, generatedAt: '2026-11-03T00:00:00Z' }) as Doc;
  const first = JSON.parse(once) as Doc;
  t.not(later['assessment-results'].metadata['last-modified'], first['assessment-results'].metadata['last-modified']);
  t.equal(later['assessment-results'].results[0]!.uuid, first['assessment-results'].results[0]!.uuid, 'the result of a period keeps its uuid across exports');
  t.not((later as any)['assessment-results'].uuid, (first as any)['assessment-results'].uuid, 'each export is a new document revision');
});

t.test('only a passing control is ever satisfied', async (t) => {
  for (const automation of ['automated', 'partial', 'manual'] as const) {
    for (const status of ['passing', 'failing', 'not_tested', 'manual'] as const) {
      const result = resultOf({ ...empty, controls: [control('CC9.1', automation, status, '')] });
      t.equal(result.findings[0].target.status.state, status === 'passing' ? 'satisfied' : 'not-satisfied', `${automation} ${status}`);
    }
  }
});

t.test('awkward values still give a valid document', async (t) => {
  const odd = {
    ...realistic,
    bundleRevisions: [''],
    chainHead: '',
    controls: [{ ...control('CC7.2', 'partial', 'not_tested', '  \n '), evidencePath: '', evidenceItems: 0 }],
    findings: [finding('0193a1f0-0000-7000-8000-000000000009', 'excepted', { exceptionId: 'not-exported', msg: '', controls: [] })],
  };
  assertValid(t, assessmentResults(odd));
  t.throws(() => assessmentResults({ ...empty, period: { from: 'last month', to: period.to } }), /period.from is not a date-time/);
});

t.test('the validator rejects a broken document', async (t) => {
  const rejected = (change: (ar: any) => void, path: string, what: string) => {
    const document = assessmentResults(realistic) as any;
    change(document['assessment-results']);
    t.notOk(validate(document), what);
    t.ok(validate.errors?.some((e) => e.instancePath === `/assessment-results${path}`), `${what}: the error points at ${path}`);
  };
  rejected((ar) => delete ar.metadata['oscal-version'], '/metadata', 'missing required oscal-version');
  rejected((ar) => (ar.results[0].findings[0].target.status.state = 'passed'), '/results/0/findings/0/target/status/state', 'state outside satisfied / not-satisfied');
  rejected((ar) => (ar.results[0].observations[0].props[0].value = 'two\nlines'), '/results/0/observations/0/props/0/value', 'multi-line prop value');
  rejected((ar) => (ar.results[0].start = '2026-10-01'), '/results/0/start', 'date without time');
  rejected((ar) => (ar.uuid = '0193a1f0-0000-7000-8000-000000000001'), '/uuid', 'UUIDv7 is not an OSCAL uuid');
  rejected((ar) => (ar.results[0].risks = []), '/results/0/risks', 'empty array');
  rejected((ar) => (ar.results[0].risks[0].remarks = 'no such member in 1.1.2'), '/results/0/risks/0', 'unknown member');
  rejected((ar) => (ar['import-ap'].href = 'not a uri reference'), '/import-ap/href', 'malformed href');
});
