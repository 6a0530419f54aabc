import t from 'tap';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { loadDemoData } from '../../src/demo/load.js';
import { expireExceptions } from '../../src/exceptions/index.js';
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
  await t.rejects(api.app.db('exceptions').where({ id: byRule.body.id }).update({ status: 'approved', decided_by: 'test-compliance_officer', decided_at: new Date() }), /exceptions_four_eyes/);
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
  const context = { db: api.app.db, log: api.app.log, policy: api.app.policy, evaluateRun: (runId: string, by: string) => api.app.jobs.evaluateRun(runId, 'schedule', by) };
  t.same(await expireExceptions(context), [byRule.body.id]);
  t.same(await expireExceptions(context), [], 'idempotent');
  t.match((await api.call('GET', `/v1/exceptions/${byRule.body.id}`)).body, { status: 'expired', ended_by: 'system:expiry', end_note: null });
  const lapsed = await finding(api, 's3.bucket_public_read', DOCUMENTS);
  t.match(lapsed, { status: 'open', exception_id: byRule.body.id });
  t.ok(lapsed.exception_expired_at);
  const afterExpiry = await evaluationAfter(api, beforeExpiry);
  t.match(afterExpiry, { trigger: 'schedule', requested_by: 'system:expiry', run_id: second.run.id });
  t.match(await control(api, 'CC6.6'), { status: 'failing', open_findings: 2, excepted_findings: 0 });
  t.equal((await api.call('GET', `/v1/findings?status=open&rule=s3.bucket_public_read`)).body.items.every((f: any) => f.exception_expired_at), true);

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
