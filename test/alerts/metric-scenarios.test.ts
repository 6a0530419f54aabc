/**
 * The metrics not covered by metrics.test.ts, each firing on the state it watches and resolving when
 * that state clears, driven through the API on the demo estate (evaluated directly with
 * evaluateAlerts; delivery is covered by delivery.test.ts). Where a metric depends on time passing
 * (pending for 48 hours), the test moves the row's timestamp back instead of waiting.
 */
import t, { type Test } from 'tap';
import { evaluateAlerts } from '../../src/alerts/evaluate.js';
import { createEvaluation, failEvaluation } from '../../src/evaluation/evaluate.js';
import { createKnex } from '../../src/db/database.js';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { shippedAsRevision } from '../helpers/bundles.js';
import { approvePending, create, createClientsTable, evaluateSnapshot, testApp, waitFor, type TestApp } from '../helpers/app.js';
import '../helpers/moto.js';

const channel = [{ type: 'email', address: 'secops@bank.example' }];
const DAY = 24 * 60;

async function alertOn(api: TestApp, metric: string, extra: Record<string, unknown> = {}) {
  return create(api, '/v1/alerts', { name: metric, metric, comparison: 'gt', threshold: 0, severity: 'high', notification_channels: channel, ...extra }, 'compliance_officer');
}
const events = async (api: TestApp, alertId: string, state: string) => (await api.call('GET', `/v1/alert-events?alert_id=${alertId}&state=${state}&limit=500`, { as: 'auditor' })).body.items;
let clockOffsetMs = 0;
const evaluate = (api: TestApp) => evaluateAlerts({ ...api.app.alerts.evaluationContext(), now: () => new Date(Date.now() + clockOffsetMs) });

/** Fired once with these dimensions, then (after `clear`) resolved. */
async function firesThenResolves(t: Test, api: TestApp, alert: { id: string }, dimensions: Record<string, unknown>, clear: () => Promise<unknown>) {
  await evaluate(api);
  const open = await events(api, alert.id, 'open');
  t.equal(open.length, 1, 'fired once');
  t.match(open[0], { dimensions });
  t.ok(open[0].value > 0, `value ${open[0].value}`);
  await clear();
  await evaluate(api);
  t.same(await events(api, alert.id, 'open'), [], 'nothing open once the state clears');
  t.match(await events(api, alert.id, 'resolved'), [{ id: open[0].id, dimensions }], 'resolved');
  return open[0];
}

t.test('securityhub.sla_breaches: the demo estate’s overdue Security Hub findings, resolved when their workflow is RESOLVED', async (t) => {
  const api = await testApp(t);
  const alert = await alertOn(api, 'securityhub.sla_breaches');
  await evaluateSnapshot(api, wealthEstate);
  const open = await firesThenResolves(t, api, alert, { account: '111122223333', region: 'us-east-1' }, () =>
    evaluateSnapshot(api, { ...wealthEstate, findings: wealthEstate.findings.map((f) => ({ ...f, workflow_status: 'RESOLVED' })) }),
  );
  t.match(open.links, [{ rel: 'finding', href: /^\/v1\/findings\// }]);
});

t.test('collections.unsuccessful: a partial run fires, a complete one resolves', async (t) => {
  const api = await testApp(t);
  const alert = await alertOn(api, 'collections.unsuccessful');
  // A run of an AWS source against a closed port fails every operation: the run is partial.
  const partial = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot: { ...wealthEstate, coverage: [{ account: '111122223333', region: 'us-east-1', resource_type: 'AWS::S3::Bucket', complete: false, reason: 'ListBuckets: AccessDenied' }] } } });
  t.equal(partial.status, 201, JSON.stringify(partial.body));
  const run = await waitFor(async () => {
    const r = (await api.call('GET', `/v1/collections/${partial.body.id}`)).body;
    return ['complete', 'partial', 'failed'].includes(r.status) ? r : undefined;
  }, 'the run');
  t.equal(run.status, 'partial', 'a snapshot declaring incomplete coverage is a partial run');
  await firesThenResolves(t, api, alert, { status: 'partial' }, () => evaluateSnapshot(api, wealthEstate));
});

t.test('evaluations.failed: an evaluation that ended failed fires, a later complete one resolves', async (t) => {
  const api = await testApp(t);
  const alert = await alertOn(api, 'evaluations.failed');
  const complete = await evaluateSnapshot(api, wealthEstate);
  await evaluate(api);
  t.same(await events(api, alert.id, 'open'), [], 'a complete evaluation: nothing fires');
  // A later evaluation of the same run whose job gave up, ended as the dead letter queue ends it
  // (test/jobs/runs-end.test.ts drives that queue itself).
  const queued = await createEvaluation(api.app.db, { runId: complete.run_id, trigger: 'api', requestedBy: 'test' });
  t.ok(await failEvaluation(api.app.db, queued.id, 'evaluation failed after 3 attempts: injected'), 'ended failed');
  const open = await firesThenResolves(t, api, alert, {}, () => evaluateSnapshot(api, wealthEstate));
  t.match(open.links, [{ rel: 'evaluation', href: `/v1/evaluations/${queued.id}` }]);
});

t.test('policy.bundle_activated: an activation fires, and the alert resolves once it is outside the window', async (t) => {
  const api = await testApp(t);
  const alert = await alertOn(api, 'policy.bundle_activated', { window_minutes: 60 });
  const uploaded = await api.call('POST', '/v1/policy-bundles', { as: 'compliance_officer', body: await shippedAsRevision('metric-scenario'), headers: { 'content-type': 'application/gzip' } });
  t.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
  await approvePending(api, await api.call('POST', `/v1/policy-bundles/${uploaded.body.id}/activate`, { as: 'compliance_officer', body: {} }));
  const open = await firesThenResolves(t, api, alert, {}, async () => {
    clockOffsetMs = 61 * 60_000; // an hour later (the audit log is immutable: the clock moves instead)
  });
  clockOffsetMs = 0;
  t.match(open.links, [{ rel: 'policy_bundle', href: `/v1/policy-bundles/${uploaded.body.id}` }]);
});

t.test('evidence.chain_verification: an edited evidence item fires; restoring it resolves', async (t) => {
  const api = await testApp(t);
  const alert = await alertOn(api, 'evidence.chain_verification');
  await evaluateSnapshot(api, wealthEstate);
  const owner = createKnex(api.databaseUrl);
  t.teardown(() => owner.destroy());
  const item = await owner('evidence_items').orderBy('seq').first();
  t.ok(item, 'the evaluation wrote evidence');
  const setBody = async (body: unknown) => {
    await owner.raw('ALTER TABLE evidence_items DISABLE TRIGGER USER');
    await owner('evidence_items').update({ body: JSON.stringify(body) }).where({ seq: item.seq });
    await owner.raw('ALTER TABLE evidence_items ENABLE TRIGGER USER');
  };
  await setBody({ ...item.body, edited: true });
  await firesThenResolves(t, api, alert, {}, () => setBody(item.body));
});

t.test('exceptions.expiring: an approved exception expiring within the window fires; revoking it resolves', async (t) => {
  const api = await testApp(t);
  const alert = await alertOn(api, 'exceptions.expiring', { window_minutes: 7 * DAY });
  await evaluateSnapshot(api, wealthEstate);
  const finding = (await api.call('GET', '/v1/findings?status=open&limit=1', { as: 'auditor' })).body.items[0];
  const soon = new Date(Date.now() + 3 * 86_400_000).toISOString();
  const requested = await create(api, '/v1/exceptions', { finding_id: finding.id, justification: 'vendor fix due this week', compensating_control: 'daily manual check', expires_at: soon }, 'compliance_officer');
  t.equal((await api.call('POST', `/v1/exceptions/${requested.id}/approve`, { as: 'admin', body: {} })).status, 200);
  await firesThenResolves(t, api, alert, { rule: finding.rule_id }, async () => {
    t.equal((await api.call('POST', `/v1/exceptions/${requested.id}/revoke`, { as: 'admin', body: { note: 'the fix shipped early' } })).status, 200);
  });
});

t.test('grants.expiring: an active grant expiring within the window fires; revoking it resolves', async (t) => {
  const api = await testApp(t);
  const alert = await alertOn(api, 'grants.expiring', { window_minutes: 7 * DAY });
  const principal = 'arn:aws:iam::111122223333:role/kyc-analytics';
  await create(api, '/v1/principals', { arn: principal, name: 'kyc-analytics', kind: 'pipeline' });
  const owner = 'owner.wealth@bank.example';
  await createClientsTable(api, { owner, steward: 'steward.wealth@bank.example' });
  const ownerKey = (await create(api, '/v1/api-keys', { name: owner, role: 'steward', subject: owner })).key;
  // A domain grant has no Lake Formation resource: it becomes active without AWS.
  const request = await create(api, '/v1/access/requests', { principal, scope: 'domain', domain: 'wealth', permissions: ['SELECT'], purpose: 'quarter-end review', duration_days: 3 }, 'compliance_officer');
  const grantId = (await api.call('POST', `/v1/access/requests/${request.id}/approve`, { key: ownerKey, body: {} })).body.grant_id;
  await waitFor(async () => ((await api.call('GET', `/v1/access/grants/${grantId}`)).body.status === 'active' ? true : undefined), 'the grant');
  await firesThenResolves(t, api, alert, { principal }, async () => {
    t.equal((await api.call('POST', `/v1/access/grants/${grantId}/revoke`, { key: ownerKey, body: { comment: 'review done' } })).status, 202);
  });
});

t.test('approvals.pending and approvals.expiring: a pending change that lowers protection waits, then is approved', async (t) => {
  const api = await testApp(t);
  const pending = await alertOn(api, 'approvals.pending', { window_minutes: 48 * 60 });
  const expiring = await alertOn(api, 'approvals.expiring', { window_minutes: 30 * DAY });
  const asset = await createClientsTable(api, { owner: 'o@bank.example', steward: 's@bank.example' });
  const proposed = await api.call('PATCH', `/v1/assets/${asset.id}/columns/ssn`, { as: 'steward', body: { classification: 'internal' }, headers: { 'if-match': '*' } });
  t.equal(proposed.status, 202, JSON.stringify(proposed.body));
  const changeId = String(proposed.headers.location).split('/').pop();
  await evaluate(api);
  t.same(await events(api, pending.id, 'open'), [], 'not yet pending for 48 hours');
  await api.app.db('pending_changes').update({ proposed_at: new Date(Date.now() - 49 * 3600_000) }).where({ id: changeId });
  const both = async () => {
    await evaluate(api);
    return [await events(api, pending.id, 'open'), await events(api, expiring.id, 'open')];
  };
  const [waiting, lapsing] = await both();
  t.match(waiting, [{ dimensions: { kind: 'pending_change' }, value: 1, links: [{ rel: 'approval', href: `/v1/pending-changes/${changeId}` }] }]);
  t.match(lapsing, [{ dimensions: { kind: 'pending_change' }, value: 1 }], 'it expires undecided within the window');
  await approvePending(api, proposed);
  t.same(await both(), [[], []]);
  t.equal((await events(api, pending.id, 'resolved')).length, 1);
  t.equal((await events(api, expiring.id, 'resolved')).length, 1);
});

t.test('controls.status: a control not tested for want of data fires; once the estate is evaluated it is tested, and the alert resolves', async (t) => {
  const api = await testApp(t);
  const alert = await alertOn(api, 'controls.status', { dimension_filter: { control: 'CC6.1', status: 'not_tested' } });
  t.equal((await api.call('GET', '/v1/controls/CC6.1', { as: 'auditor' })).body.status, 'not_tested', 'nothing collected yet');
  await firesThenResolves(t, api, alert, { control: 'CC6.1', status: 'not_tested' }, () => evaluateSnapshot(api, wealthEstate));
  t.not((await api.call('GET', '/v1/controls/CC6.1', { as: 'auditor' })).body.status, 'not_tested', 'tested now');
});
