import t from 'tap';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { loadDemoData } from '../../src/demo/load.js';
import { expireExceptions, queueReevaluation } from '../../src/exceptions/index.js';
import { exceptCoveredFindings } from '../../src/exceptions/findings.js';
import { testApp, waitFor, type TestApp } from '../helpers/app.js';

const DOCUMENTS = 'wealth-client-documents';
const EXPORTS = 'wealth-analytics-exports';
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
const request = (extra: Record<string, unknown>) => ({
  justification: 'Public by design: the marketing brochure bucket',
  compensating_control: 'CloudFront signed URLs; weekly review of the object list',
  expires_at: inDays(30),
  ...extra,
});

/** Every evaluation so far, newest first. */
const evaluations = async (api: TestApp) => (await api.call('GET', '/v1/evaluations?limit=500', { as: 'auditor' })).body.items as any[];

/** Waits until there are more than `before` evaluations and the newest is complete. */
const evaluationAfter = (api: TestApp, before: number) =>
  waitFor(async () => {
    const all = await evaluations(api);
    return all.length > before && all[0].status === 'complete' ? all[0] : undefined;
  }, 'evaluation', 20_000);

async function importSnapshot(api: TestApp, snapshot: unknown) {
  const before = (await evaluations(api)).length;
  const run = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot } });
  if (run.status !== 201) throw new Error(JSON.stringify(run.body));
  return { run: run.body, evaluation: await evaluationAfter(api, before) };
}

const finding = async (api: TestApp, rule: string, resource: string) =>
  (await api.call('GET', `/v1/findings?rule=${rule}&resource=${resource}`, { as: 'auditor' })).body.items[0];
const control = async (api: TestApp, id: string) => (await api.call('GET', `/v1/controls/${id}`, { as: 'auditor' })).body;

/** A second compliance officer: four eyes among officers. */
async function secondOfficer(api: TestApp) {
  const created = await api.call('POST', '/v1/api-keys', { body: { role: 'compliance_officer', name: 'second-officer' } });
  return created.body.key as string;
}

t.test('approval excepts findings, the control passes after re-evaluation and stays so; revoke and expiry reopen and flag', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  const first = await importSnapshot(api, wealthEstate);
  t.match(await control(api, 'CC6.6'), { status: 'failing', open_findings: 2, excepted_findings: 0 });
  const documents = await finding(api, 's3.bucket_public_read', DOCUMENTS);
  const exportsFinding = await finding(api, 's3.bucket_public_read', EXPORTS);
  t.match(documents, { status: 'open', exception_id: null, exception_expired_at: null });

  // One exception by rule and resource glob, one for a finding.
  const byRule = await api.call('POST', '/v1/exceptions', { as: 'compliance_officer', body: request({ rule_id: 's3.bucket_public_read', resource_pattern: 'wealth-*-documents', account: '111122223333' }) });
  t.equal(byRule.status, 201);
  t.match(byRule.body, { status: 'pending', rule_id: 's3.bucket_public_read', resource_pattern: 'wealth-*-documents', finding_id: null, requested_by: 'test-compliance_officer', decided_by: null });
  t.equal(byRule.headers.location, `/v1/exceptions/${byRule.body.id}`);
  const byFinding = await api.call('POST', '/v1/exceptions', { as: 'compliance_officer', body: request({ finding_id: exportsFinding.id, expires_at: inDays(60) }) });
  t.match(byFinding.body, { status: 'pending', finding_id: exportsFinding.id, rule_id: 's3.bucket_public_read', resource_pattern: EXPORTS, account: '111122223333' });
  t.equal((await finding(api, 's3.bucket_public_read', DOCUMENTS)).status, 'open', 'a pending exception changes nothing');

  // Four eyes: the requester may neither approve nor reject; the table refuses it too.
  const own = await api.call('POST', `/v1/exceptions/${byRule.body.id}/approve`, { as: 'compliance_officer', body: {} });
  t.equal(own.status, 403);
  t.match(own.body, { type: '/problems/forbidden', detail: /requested this exception and may not approve it/ });
  t.equal((await api.call('POST', `/v1/exceptions/${byRule.body.id}/reject`, { as: 'compliance_officer', body: { note: 'no' } })).status, 403);
  const { requester_subject } = await api.app.db('exceptions').where({ id: byRule.body.id }).first('requester_subject');
  await t.rejects(
    api.app.db('exceptions').where({ id: byRule.body.id }).update({ status: 'approved', decided_by: 'someone-else', decider_subject: requester_subject, decided_at: new Date() }),
    /exceptions_four_eyes_subject/,
  );
  t.equal((await api.call('POST', `/v1/exceptions/${byRule.body.id}/approve`, { as: 'steward', body: {} })).status, 403, 'stewards do not decide');

  // A second compliance officer approves: the finding is excepted at once, and a re-evaluation follows.
  const before = (await evaluations(api)).length;
  const approved = await api.call('POST', `/v1/exceptions/${byRule.body.id}/approve`, { key: await secondOfficer(api), body: { note: 'accepted for one month' } });
  t.equal(approved.status, 200);
  t.match(approved.body, { status: 'approved', decided_by: 'second-officer', decision_note: 'accepted for one month', version: 2 });
  t.equal(approved.headers.etag, '"2"');
  t.match(await finding(api, 's3.bucket_public_read', DOCUMENTS), { status: 'excepted', exception_id: byRule.body.id, exception_expired_at: null });
  t.equal((await finding(api, 's3.bucket_public_read', EXPORTS)).status, 'open', 'the glob does not cover the other bucket');
  let evaluation = await evaluationAfter(api, before);
  t.match(evaluation, { run_id: first.run.id, trigger: 'api', requested_by: 'second-officer' });
  t.equal(evaluation.counts.excepted, 1);
  t.match(await control(api, 'CC6.6'), { status: 'failing', open_findings: 1, excepted_findings: 1 });
  t.same((await control(api, 'CC6.6')).failing_findings.map((f: any) => f.resource_id), [EXPORTS]);

  const admin = await evaluations(api).then((all) => all.length);
  t.equal((await api.call('POST', `/v1/exceptions/${byFinding.body.id}/approve`, { as: 'admin', body: {} })).status, 200);
  evaluation = await evaluationAfter(api, admin);
  t.match(await control(api, 'CC6.6'), { status: 'passing', open_findings: 0, excepted_findings: 2, failing_findings: [] });
  const recorded = await api.app.db('evaluation_findings').where({ evaluation_id: evaluation.id }).whereNotNull('exception_id').orderBy('exception_id').select('finding_id', 'exception_id');
  t.same(recorded, [
    { finding_id: documents.id, exception_id: byRule.body.id },
    { finding_id: exportsFinding.id, exception_id: byFinding.body.id },
  ].sort((a, b) => a.exception_id.localeCompare(b.exception_id)), 'history records which exception applied');
  t.equal((await api.call('GET', '/v1/findings?status=excepted&limit=500')).body.items.length, 2);

  // The evaluation's evidence lists excepted findings apart, with their exception.
  const evidence = (await api.call('GET', `/v1/evidence?control=CC6.6&kind=evaluation&limit=500`, { as: 'auditor' })).body.items.at(-1);
  t.equal(evidence.source_id, evaluation.id);
  t.match(evidence.body, { status: 'passing', failing_findings: [] });
  t.same(evidence.body.excepted_findings.map((f: any) => [f.resource_id, f.exception_id]).sort(), [[DOCUMENTS, byRule.body.id], [EXPORTS, byFinding.body.id]].sort());

  // The next collection and evaluation keep them excepted.
  const next = structuredClone(wealthEstate);
  next.observed_at = '2026-11-21T06:00:00.000Z';
  const second = await importSnapshot(api, next);
  t.equal(second.evaluation.counts.excepted, 2);
  t.match(await finding(api, 's3.bucket_public_read', DOCUMENTS), { status: 'excepted', exception_id: byRule.body.id, last_seen_at: '2026-11-21T06:00:00.000Z' });
  t.match(await control(api, 'CC6.6'), { status: 'passing', excepted_findings: 2, evaluation_id: second.evaluation.id });

  // Revoke: reopened at once, flagged, and the re-evaluation fails the control again.
  const beforeRevoke = (await evaluations(api)).length;
  t.equal((await api.call('POST', `/v1/exceptions/${byFinding.body.id}/revoke`, { as: 'admin', body: {} })).status, 400, 'a revocation says why');
  const revoked = await api.call('POST', `/v1/exceptions/${byFinding.body.id}/revoke`, { as: 'compliance_officer', body: { note: 'bucket now holds client data' } });
  t.equal(revoked.status, 200);
  t.match(revoked.body, { status: 'revoked', ended_by: 'test-compliance_officer', end_note: 'bucket now holds client data', decided_by: 'bootstrap-admin' });
  t.ok(revoked.body.ended_at);
  t.match((await api.call('GET', `/v1/exceptions/${byFinding.body.id}`, { as: 'steward' })).body, { status: 'revoked', ended_by: 'test-compliance_officer', end_note: 'bucket now holds client data' });
  const reopened = await finding(api, 's3.bucket_public_read', EXPORTS);
  t.match(reopened, { status: 'open', exception_id: byFinding.body.id });
  t.ok(reopened.exception_expired_at, 'flagged');
  await evaluationAfter(api, beforeRevoke);
  t.match(await control(api, 'CC6.6'), { status: 'failing', open_findings: 1, excepted_findings: 1 });
  t.equal((await api.call('POST', `/v1/exceptions/${byFinding.body.id}/revoke`, { as: 'admin', body: { note: 'again' } })).status, 409);

  // Expiry: move its expiry into the past and run the sweep the schedule runs every minute.
  const schedule = await api.app.db.raw(`SELECT cron FROM pgboss.schedule WHERE name = 'exception-expiry'`);
  t.same(schedule.rows, [{ cron: '* * * * *' }], 'the sweep is a durable pg-boss schedule');
  await api.app.db('exceptions').where({ id: byRule.body.id }).update({ expires_at: new Date(Date.now() - 1000) });
  const beforeExpiry = (await evaluations(api)).length;
  // The job the schedule sends, through the durable queue.
  await api.app.jobs.send('exception-expiry', {}, 'exception-expiry:test');
  const expired = await waitFor(async () => {
    const current = (await api.call('GET', `/v1/exceptions/${byRule.body.id}`)).body;
    return current.status === 'expired' ? current : undefined;
  }, 'expiry sweep');
  t.match(expired, { ended_by: 'system:expiry', end_note: null });
  const context = { db: api.app.db, log: api.app.log, policy: api.app.policy, evaluateRun: (runId: string, by: string) => api.app.jobs.evaluateRun(runId, 'schedule', by) };
  t.same(await expireExceptions(context), [], 'idempotent: nothing left to expire');
  const lapsed = await finding(api, 's3.bucket_public_read', DOCUMENTS);
  t.match(lapsed, { status: 'open', exception_id: byRule.body.id });
  t.ok(lapsed.exception_expired_at);
  const afterExpiry = await evaluationAfter(api, beforeExpiry);
  t.match(afterExpiry, { trigger: 'schedule', requested_by: 'system:expiry', run_id: second.run.id });
  t.match(await control(api, 'CC6.6'), { status: 'failing', open_findings: 2, excepted_findings: 0 });
  const lapsedFindings = (await api.call('GET', `/v1/findings?status=open&rule=s3.bucket_public_read`)).body.items;
  t.ok(lapsedFindings.length > 0, 'the lapsed exception reopened findings');
  t.ok(lapsedFindings.every((f: any) => f.exception_expired_at), 'each reopened finding says when its exception lapsed');

  // Audit rows for every step, and exception evidence per control of the rule (CC6.1, CC6.6) for each decision.
  const audit = async (id: string) => (await api.call('GET', `/v1/audit-log?entity=exceptions&entity_id=${id}`, { as: 'auditor' })).body.items.map((a: any) => [a.action, a.actor]).reverse();
  t.same(await audit(byRule.body.id), [['create', 'test-compliance_officer'], ['approve', 'second-officer'], ['expire', 'system:expiry']]);
  t.same(await audit(byFinding.body.id), [['create', 'test-compliance_officer'], ['approve', 'bootstrap-admin'], ['revoke', 'test-compliance_officer']]);
  const items = (await api.call('GET', '/v1/evidence?kind=exception&limit=500', { as: 'auditor' })).body.items;
  t.same(items.map((i: any) => [i.source_id, i.control_id, i.body.event]), [
    [byRule.body.id, 'CC6.1', 'approved'], [byRule.body.id, 'CC6.6', 'approved'],
    [byFinding.body.id, 'CC6.1', 'approved'], [byFinding.body.id, 'CC6.6', 'approved'],
    [byFinding.body.id, 'CC6.1', 'revoked'], [byFinding.body.id, 'CC6.6', 'revoked'],
    [byRule.body.id, 'CC6.1', 'expired'], [byRule.body.id, 'CC6.6', 'expired'],
  ]);
  t.same(items[0].body.findings, [documents.id], 'the approval evidence names the findings it excepted');
  t.same(items[6].body.findings, [documents.id], 'the expiry evidence names the findings it reopened');
  t.match((await api.call('POST', '/v1/evidence/verify', { as: 'auditor' })).body, { ok: true });
});

t.test('requests are validated field by field, nothing is written on a refusal; lists filter and page', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  await importSnapshot(api, wealthEstate);
  const documents = await finding(api, 's3.bucket_public_read', DOCUMENTS);
  const create = (body: unknown, as: 'compliance_officer' | 'admin' | 'steward' = 'compliance_officer') => api.call('POST', '/v1/exceptions', { as, body });
  const refused = async (body: Record<string, unknown>, field: string, message: RegExp) => {
    const response = await create(body);
    t.equal(response.status, 400, `${field}: 400`);
    t.equal(response.body.type, '/problems/validation-error');
    t.ok(response.body.errors.some((e: any) => e.field === field && message.test(e.message)), `names ${field}: ${JSON.stringify(response.body.errors)}`);
  };
  await refused(request({}), 'rule_id', /give finding_id, or rule_id/);
  await refused(request({ finding_id: documents.id, rule_id: 's3.bucket_public_read' }), 'rule_id', /not both/);
  await refused(request({ finding_id: documents.id, resource_pattern: '*' }), 'resource_pattern', /not both/);
  await refused(request({ finding_id: '01900000-0000-7000-8000-000000000000' }), 'finding_id', /does not exist/);
  await refused(request({ rule_id: 's3.no_such_rule' }), 'rule_id', /no rule of the active policy bundle/);
  await refused(request({ rule_id: 's3.bucket_public_read', expires_at: inDays(-1) }), 'expires_at', /in the future/);
  await refused(request({ rule_id: 's3.bucket_public_read', expires_at: inDays(367) }), 'expires_at', /at most one year ahead/);
  await refused(request({ rule_id: 's3.bucket_public_read', expires_at: 'next month' }), 'expires_at', /date-time/);
  await refused(request({ rule_id: 's3.bucket_public_read', justification: 'because' }), 'justification', /fewer than 10/);
  await refused(request({ rule_id: 's3.bucket_public_read', compensating_control: '' }), 'compensating_control', /fewer than 1/);
  await refused(request({ rule_id: 's3.bucket_public_read', account: '1234' }), 'account', /pattern/);
  await refused(request({ rule_id: 's3.bucket_public_read', region: 'mars' }), 'region', /pattern/);
  await refused(request({ rule_id: 's3.bucket_public_read', owner: 'me' }), 'owner', /not a known field/);
  t.match(await create(request({ rule_id: 's3.bucket_public_read', justification: 'NUL \u0000 is not text' })), { status: 400, body: { detail: /NUL/ } });
  t.equal((await create(request({ rule_id: 's3.bucket_public_read' }), 'steward')).status, 403);
  t.equal(Number((await api.app.db('exceptions').count('* as n').first())!.n), 0, 'nothing written');
  t.equal(Number((await api.app.db('audit_log').where({ entity: 'exceptions' }).count('* as n').first())!.n), 0);

  // Three exceptions; decisions need a note where they say no.
  const a = (await create(request({ rule_id: 's3.bucket_public_read', expires_at: inDays(90) }))).body;
  const b = (await create(request({ finding_id: documents.id, expires_at: inDays(10) }))).body;
  const c = (await create(request({ rule_id: 's3.bucket_versioning', expires_at: inDays(20) }), 'admin')).body;
  const reject = await api.call('POST', `/v1/exceptions/${c.id}/reject`, { as: 'compliance_officer', body: {} });
  t.equal(reject.status, 400);
  t.match(reject.body.errors, [{ field: 'note' }]);
  const rejected = await api.call('POST', `/v1/exceptions/${c.id}/reject`, { as: 'compliance_officer', body: { note: 'fix the bucket instead' } });
  t.match(rejected.body, { status: 'rejected', decided_by: 'test-compliance_officer', decision_note: 'fix the bucket instead' });
  t.equal((await api.call('POST', `/v1/exceptions/${c.id}/approve`, { as: 'compliance_officer', body: {} })).status, 409, 'decided once');
  t.equal((await api.call('POST', `/v1/exceptions/${a.id}/revoke`, { as: 'admin', body: { note: 'x' } })).status, 409, 'only an approved exception is revoked');
  t.equal((await api.call('POST', '/v1/exceptions/01900000-0000-7000-8000-000000000000/approve', { body: {} })).status, 404);
  t.equal((await api.call('POST', `/v1/exceptions/${a.id}/approve`, { body: {}, headers: { 'if-match': '"7"' } })).status, 412);
  const rejection = (await api.call('GET', '/v1/evidence?kind=exception', { as: 'auditor' })).body.items;
  t.same(rejection.map((i: any) => [i.control_id, i.source_id, i.body.event, i.body.findings]), [['A1.2', c.id, 'rejected', []]], 'evidence for each control of the rule');

  // An exception whose expiry passed while pending is not approved any more.
  await api.app.db('exceptions').where({ id: b.id }).update({ expires_at: new Date(Date.now() - 1000) });
  const late = await api.call('POST', `/v1/exceptions/${b.id}/approve`, { as: 'admin', body: {} });
  t.equal(late.status, 409);
  t.match(late.body.detail, /expired at .* before it was approved/);

  const list = async (query: string, as: 'auditor' | 'steward' = 'auditor') => (await api.call('GET', `/v1/exceptions?${query}`, { as })).body;
  t.same((await list('status=pending')).items.map((e: any) => e.id), [a.id, b.id]);
  t.same((await list('status=rejected', 'steward')).items.map((e: any) => e.id), [c.id]);
  t.same((await list('rule_id=s3.bucket_public_read')).items.map((e: any) => e.id), [a.id, b.id]);
  t.same((await list(`finding_id=${documents.id}`)).items.map((e: any) => e.id), [b.id]);
  t.same((await list(`expiring_before=${encodeURIComponent(inDays(30))}`)).items.map((e: any) => e.id), [b.id, c.id], 'soonest expiry first');
  const page1 = await list(`expiring_before=${encodeURIComponent(inDays(365))}&limit=2`);
  const page2 = await list(`expiring_before=${encodeURIComponent(inDays(365))}&limit=2&cursor=${page1.next_cursor}`);
  t.same([...page1.items, ...page2.items].map((e: any) => e.id), [b.id, c.id, a.id]);
  t.equal(page2.next_cursor, null);
  t.equal((await api.call('GET', '/v1/exceptions?status=closed')).status, 400);
  const junkCursor = Buffer.from('["soon","x"]').toString('base64url');
  t.equal((await api.call('GET', `/v1/exceptions?expiring_before=${encodeURIComponent(inDays(5))}&cursor=${junkCursor}`)).status, 400);
  t.equal((await api.call('GET', '/v1/exceptions', { as: 'pipeline' })).status, 403);
  const one = await api.call('GET', `/v1/exceptions/${a.id}`, { as: 'auditor' });
  t.match(one, { status: 200, headers: { etag: '"1"' }, body: { id: a.id, status: 'pending', ended_by: null } });
  t.equal((await api.call('GET', '/v1/exceptions/01900000-0000-7000-8000-000000000000')).status, 404);
});

t.test('without a collection run an approval queues nothing; an evaluation already queued is not doubled', async (t) => {
  const api = await testApp(t);
  const exception = (await api.call('POST', '/v1/exceptions', { as: 'compliance_officer', body: request({ rule_id: 's3.bucket_public_read' }) })).body;
  const approved = await api.call('POST', `/v1/exceptions/${exception.id}/approve`, { as: 'admin', body: {} });
  t.equal(approved.status, 200);
  t.equal((await evaluations(api)).length, 0);

  let queued = 0;
  const context = { db: api.app.db, log: api.app.log, evaluateRun: async () => ({ id: `queued-${++queued}` }) };
  t.equal(await queueReevaluation(context, 'tester'), undefined, 'no run: nothing to evaluate');
  const runId = '01900000-0000-7000-8000-0000000000aa';
  await api.app.db('collection_runs').insert({ id: runId, status: 'complete', trigger: 'file', requested_by: 'tester', observed_at: new Date() });
  t.equal(await queueReevaluation(context, 'tester'), 'queued-1');
  await api.app.db('evaluations').insert({ id: '01900000-0000-7000-8000-0000000000bb', run_id: runId, status: 'queued', trigger: 'api', requested_by: 'tester' });
  t.equal(await queueReevaluation(context, 'tester'), '01900000-0000-7000-8000-0000000000bb', 'the queued evaluation will see the change');
  t.equal(queued, 1);
});

t.test('a resource glob covers exactly what it says: * and ? only, other LIKE characters are literal', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  await importSnapshot(api, wealthEstate);
  /** The resource ids an approved exception with this scope would cover (rolled back). */
  const covered = async (scope: { resource_pattern: string; account?: string; region?: string; rule_id?: string }) => {
    let ids: string[] = [];
    await api.app.db
      .transaction(async (trx) => {
        const id = '01900000-0000-7000-8000-0000000000cc';
        await trx('exceptions').insert({ id, status: 'approved', rule_id: 's3.bucket_public_read', account: null, region: null, ...scope, justification: 'only for this test', compensating_control: 'none', expires_at: new Date(Date.now() + 3_600_000), requested_by: 'a', requester_subject: 'a', decided_by: 'b', decider_subject: 'b', decided_at: new Date() });
        const excepted = await exceptCoveredFindings(trx, id);
        ids = (await trx('findings').whereIn('id', excepted).orderBy('resource_id').pluck('resource_id')) as string[];
        throw new Error('rollback');
      })
      .catch((error: Error) => {
        if (error.message !== 'rollback') throw error;
      });
    return ids;
  };
  t.same(await covered({ resource_pattern: '*' }), [EXPORTS, DOCUMENTS]);
  t.same(await covered({ resource_pattern: 'wealth-client-document?' }), [DOCUMENTS]);
  t.same(await covered({ resource_pattern: 'wealth-client-documents' }), [DOCUMENTS]);
  t.same(await covered({ resource_pattern: 'wealth_client*' }), [], '_ is literal');
  t.same(await covered({ resource_pattern: 'wealth-%' }), [], '% is literal');
  t.same(await covered({ resource_pattern: '*exports' }), [EXPORTS]);
  t.same(await covered({ resource_pattern: '*', account: '999999999999' }), [], 'another account');
  t.same(await covered({ resource_pattern: '*', region: 'eu-west-1' }), [], 'another region');
  t.same(await covered({ resource_pattern: '*', account: '111122223333', region: 'us-east-1' }), [EXPORTS, DOCUMENTS]);
  t.same(await covered({ resource_pattern: '*', rule_id: 's3.bucket_versioning' }), ['wealth-account-statements'], 'only findings of its rule');
});
