import t from 'tap';
import { v7 as uuidv7 } from 'uuid';
import { loadDemoData } from '../../src/demo/load.js';
import { expirePendingChanges } from '../../src/changes/index.js';
import { shippedAsRevision } from '../helpers/bundles.js';
import { approvePending, create, handOver, testApp, until, type TestApp } from '../helpers/app.js';

// The reproductions: one person alone lowered protection. Each is now a pending change that
// a second person (another subject, never the proposer) approves; raising protection stays immediate.

const ETL = 'arn:aws:iam::111122223333:role/analytics-etl';
const OWNER = 'head.client-services@bank.example';
const STEWARD = 'client-data.steward@bank.example';
const clients = (columns: string[]) => ({ store: 'aurora', database: 'wealth', table: 'clients', columns });

async function demo(t: Parameters<typeof testApp>[0]) {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  const key = async (name: string, role: string, subject?: string) => (await create(api, '/v1/api-keys', { name, role, ...(subject ? { subject } : {}) })).key as string;
  const keys = {
    steward: await key('client-steward', 'steward', STEWARD),
    owner: await key('client-owner', 'steward', OWNER),
    otherSteward: await key('other-steward', 'steward'),
    officer: await key('officer-1', 'compliance_officer'),
    officer2: await key('officer-2', 'compliance_officer'),
  };
  const clientsAsset = (await api.call('GET', '/v1/assets?database=wealth&table=clients&store=aurora', { as: 'auditor' })).body.items[0];
  return { api, keys, clientsAsset };
}

async function decide(api: TestApp, principal: string, columns: string[]) {
  const r = await api.call('POST', '/v1/access/decisions', { as: 'pipeline', body: { principal, action: 'select', purpose: 'reporting', resource: clients(columns) } });
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  return r.body;
}

/** An approved SELECT grant on the whole clients table, as the grant workflow records it. */
async function grantClients(api: TestApp, principal: string) {
  const values = { principal, scope: 'table', store: 'aurora', database: 'wealth', table_name: 'clients', columns: JSON.stringify([]), permissions: JSON.stringify(['SELECT']), purpose: 'reporting' };
  const requestId = uuidv7();
  await api.app.db('access_requests').insert({ id: requestId, requester: 'test', requester_subject: 'test', duration_days: 30, status: 'approved', ...values });
  await api.app.db('access_grants').insert({ id: uuidv7(), request_id: requestId, starts_at: new Date(Date.now() - 60_000), expires_at: new Date(Date.now() + 3600_000), status: 'active', ...values });
  await api.app.db.raw("SELECT pg_notify('custos_access_data', 'grants')");
}

const etag = async (api: TestApp, url: string) => (await api.call('GET', url, { as: 'auditor' })).headers.etag as string;

t.test('a steward sets clients.ssn public: pending; the pipeline still gets it masked until a second person approves', async (t) => {
  const { api, keys, clientsAsset } = await demo(t);
  await api.call('POST', '/v1/principals', { as: 'admin', body: { arn: ETL, name: 'etl', kind: 'pipeline' }, headers: {} });
  // A grant covering the table: the pipeline reads the restricted ssn masked (the access ladder).
  await grantClients(api, ETL);
  const url = `/v1/assets/${clientsAsset.id}`;
  await until(async () => (await decide(api, ETL, ['ssn'])).decision === 'allow', 'principal and grant known');

  const proposed = await api.call('PATCH', `${url}/columns/ssn`, {
    key: keys.steward,
    headers: { 'if-match': await etag(api, url) },
    body: { classification: 'public', pii_type: null, masking_rule: null },
  });
  t.equal(proposed.status, 202, JSON.stringify(proposed.body));
  t.match(proposed.body, { status: 'pending', kind: 'assets.update_column', entity: 'assets', entity_id: clientsAsset.id, proposer_subject: STEWARD, can_approve: false });
  t.match(proposed.body.reasons, [/classification lowered from restricted to public/, /PII type ssn removed/, /masking rule ssn_last4 removed/]);
  t.same(proposed.body.approvers, { roles: ['admin', 'compliance_officer'], subjects: [OWNER, STEWARD], never: STEWARD });
  t.equal(proposed.headers.location, `/v1/pending-changes/${proposed.body.id}`);

  // Nothing changed: the column is restricted, and the pipeline gets SSN masked.
  const column = (await api.call('GET', url, { as: 'auditor' })).body.columns.find((c: any) => c.name === 'ssn');
  t.match(column, { classification: 'restricted', pii_type: 'ssn', masking_rule: 'ssn_last4' });
  const masked = await decide(api, ETL, ['ssn']);
  t.same(masked.obligations.mask, { ssn: { rule: 'ssn_last4', strategy: 'show_last', params: { visible: 4 } } });

  // Not the proposer, with any of their keys; not a steward who is not the domain's owner or steward.
  const steward2 = (await create(api, '/v1/api-keys', { name: 'steward-laptop', role: 'steward', subject: STEWARD })).key;
  for (const [key, why] of [[keys.steward, 'the proposer'], [steward2, "the proposer's other key"]] as const) {
    const refused = await api.call('POST', `/v1/pending-changes/${proposed.body.id}/approve`, { key, body: {} });
    t.equal(refused.status, 403, why);
    t.match(refused.body.detail, /proposed this change and may not approve it/);
  }
  const stranger = await api.call('POST', `/v1/pending-changes/${proposed.body.id}/approve`, { key: keys.otherSteward, body: {} });
  t.equal(stranger.status, 403);
  t.match(stranger.body.detail, /only role admin, role compliance_officer, head\.client-services@bank\.example, client-data\.steward@bank\.example may approve/);
  t.equal((await api.call('POST', `/v1/pending-changes/${proposed.body.id}/approve`, { as: 'auditor', body: {} })).status, 403, 'auditors decide nothing');

  // Who may approve what: the list says so for each caller.
  const mine = await api.call('GET', '/v1/pending-changes?can_approve=true', { key: keys.owner });
  t.same(mine.body.items.map((c: any) => c.id), [proposed.body.id]);
  t.equal(mine.body.items[0].can_approve, true);
  t.same((await api.call('GET', '/v1/pending-changes?can_approve=true', { key: keys.steward })).body.items, []);

  // The domain's owner approves: applied at once, with its audit row naming approver and pending change.
  const approved = await api.call('POST', `/v1/pending-changes/${proposed.body.id}/approve`, { key: keys.owner, body: { note: 'ssn moved to the vault; column is now a token' } });
  t.equal(approved.status, 200, JSON.stringify(approved.body));
  t.match(approved.body, { status: 'applied', decided_by: 'client-owner', decider_subject: OWNER, can_approve: false });
  t.match((await api.call('GET', url, { as: 'auditor' })).body.columns.find((c: any) => c.name === 'ssn'), { classification: 'public', pii_type: null, masking_rule: null });
  const audit = await api.call('GET', `/v1/audit-log?entity=assets&entity_id=${clientsAsset.id}&action=update_column`, { as: 'auditor' });
  t.match(audit.body.items[0], { actor: 'client-owner', actor_subject: OWNER, pending_change_id: proposed.body.id, break_glass_reason: null });
  await until(async () => Object.keys((await decide(api, ETL, ['ssn'])).obligations.mask).length === 0, 'ssn unmasked after approval');

  // Approving twice is refused; the evidence of CC8.1 holds the proposal and the approval.
  t.equal((await api.call('POST', `/v1/pending-changes/${proposed.body.id}/approve`, { as: 'admin', body: {} })).status, 409);
  const evidence = await api.call('GET', '/v1/evidence?control=CC8.1&kind=change', { as: 'auditor' });
  t.equal(evidence.status, 200, JSON.stringify(evidence.body));
  t.same(evidence.body.items.map((i: any) => i.source_id), [proposed.body.id, proposed.body.id]);
});

t.test('raising protection stays immediate; an unrelated change is not held', async (t) => {
  const { api, keys, clientsAsset } = await demo(t);
  const url = `/v1/assets/${clientsAsset.id}`;
  const raised = await api.call('PATCH', `${url}/columns/marital_status`, { key: keys.otherSteward, headers: { 'if-match': await etag(api, url) }, body: { classification: 'restricted', masking_rule: 'redact' } });
  t.equal(raised.status, 200, JSON.stringify(raised.body));
  const described = await api.call('PATCH', `${url}/columns/ssn`, { key: keys.otherSteward, headers: { 'if-match': raised.headers.etag }, body: { description: 'tokenised next quarter' } });
  t.equal(described.status, 200);
  const stronger = await api.call('PATCH', `${url}/columns/ssn`, { key: keys.otherSteward, headers: { 'if-match': described.headers.etag }, body: { masking_rule: 'redact' } });
  t.equal(stronger.status, 200, 'a masking rule that hides more is immediate');
  const weaker = await api.call('PATCH', `${url}/columns/ssn`, { key: keys.otherSteward, headers: { 'if-match': stronger.headers.etag }, body: { masking_rule: 'ssn_last4' } });
  t.equal(weaker.status, 202, 'and back to one that reveals the last four digits is not');
  t.match(weaker.body.reasons, [/masking rule redact replaced by ssn_last4, which reveals more/]);

  // Asset-level: a lower classification declared on the asset, or columns replaced with less.
  const lowerAsset = await api.call('PATCH', url, { key: keys.otherSteward, headers: { 'if-match': stronger.headers.etag }, body: { description: 'x', tags: { a: 'b' } } });
  t.equal(lowerAsset.status, 200, 'description and tags are immediate');

  // A masking rule made weaker needs a second officer; a stronger one does not.
  const rules = (await api.call('GET', '/v1/masking-rules', { as: 'auditor' })).body.items;
  const ssnRule = rules.find((r: any) => r.name === 'ssn_last4');
  const ruleUrl = `/v1/masking-rules/${ssnRule.id}`;
  const fewer = await api.call('PATCH', ruleUrl, { key: keys.officer, headers: { 'if-match': `"${ssnRule.version}"` }, body: { params: { visible: 2 } } });
  t.equal(fewer.status, 200, 'showing fewer digits is immediate');
  const more = await api.call('PATCH', ruleUrl, { key: keys.officer, headers: { 'if-match': fewer.headers.etag }, body: { params: { visible: 9 } } });
  t.equal(more.status, 202);
  t.match(more.body.reasons, [/reveals more/]);
  t.equal((await api.call('POST', `/v1/pending-changes/${more.body.id}/approve`, { key: keys.owner, body: {} })).status, 403, 'stewards do not approve masking rules');
  t.equal((await api.call('POST', `/v1/pending-changes/${more.body.id}/approve`, { key: keys.officer2, body: {} })).status, 200);
  t.match((await api.call('GET', ruleUrl, { as: 'auditor' })).body.params, { visible: 9 });
});

t.test('a steward PATCHes the domain steward to themselves: pending, and their own access request stays theirs to not approve', async (t) => {
  const { api, keys } = await demo(t);
  const domain = (await api.call('GET', '/v1/domains?name=Client', { as: 'auditor' })).body.items[0];
  const intruder = (await create(api, '/v1/api-keys', { name: 'mallory', role: 'steward', subject: 'mallory@bank.example' })).key;
  const proposed = await api.call('PATCH', `/v1/domains/${domain.id}`, { key: intruder, headers: { 'if-match': `"${domain.version}"` }, body: { steward: 'mallory@bank.example' } });
  t.equal(proposed.status, 202, JSON.stringify(proposed.body));
  t.match(proposed.body.reasons, [/the steward of domain Client changes from client-data\.steward@bank\.example to mallory@bank\.example/]);
  t.equal((await api.call('GET', `/v1/domains/${domain.id}`, { as: 'auditor' })).body.steward, STEWARD, 'unchanged until approved');
  t.equal((await api.call('POST', `/v1/pending-changes/${proposed.body.id}/approve`, { key: intruder, body: {} })).status, 403);

  // Mallory's own request for SSN access: she is not the steward, so she cannot approve it.
  await create(api, '/v1/principals', { arn: ETL, name: 'etl', kind: 'pipeline' });
  const requestAccess = await api.call('POST', '/v1/access/requests', { key: intruder, body: { principal: ETL, scope: 'domain', domain: 'Client', permissions: ['SELECT'], purpose: 'kyc', duration_days: 7 } });
  t.equal(requestAccess.status, 201, JSON.stringify(requestAccess.body));
  t.equal((await api.call('POST', `/v1/access/requests/${requestAccess.body.id}/approve`, { key: intruder, body: {} })).status, 403);

  // The current steward rejects the change; a rejection says why; the proposer withdraws the other way.
  t.equal((await api.call('POST', `/v1/pending-changes/${proposed.body.id}/reject`, { key: keys.steward, body: {} })).status, 400);
  const rejected = await api.call('POST', `/v1/pending-changes/${proposed.body.id}/reject`, { key: keys.steward, body: { note: 'not agreed with the data owner' } });
  t.match(rejected.body, { status: 'rejected', decided_by: 'client-steward', decision_note: 'not agreed with the data owner' });
  t.equal((await api.call('POST', `/v1/pending-changes/${proposed.body.id}/approve`, { as: 'admin', body: {} })).status, 409, 'a rejected change stays rejected');

  const again = await api.call('PATCH', `/v1/domains/${domain.id}`, { key: intruder, headers: { 'if-match': `"${domain.version}"` }, body: { steward: 'mallory@bank.example' } });
  t.equal((await api.call('POST', `/v1/pending-changes/${again.body.id}/withdraw`, { key: keys.owner, body: {} })).status, 403, 'only the proposer or an admin withdraws');
  t.match((await api.call('POST', `/v1/pending-changes/${again.body.id}/withdraw`, { key: intruder, body: {} })).body, { status: 'withdrawn', decided_by: 'mallory' });
});

t.test('a principal moved into the Client domain reads nothing of it until the owner or steward approves', async (t) => {
  const { api, keys } = await demo(t);
  const created = await create(api, '/v1/principals', { arn: ETL, name: 'etl', kind: 'pipeline' }, 'steward');
  await until(async () => (await decide(api, ETL, ['client_id'])).decision === 'deny', 'principal known');
  const moved = await api.call('PATCH', `/v1/principals/${created.id}`, { key: keys.otherSteward, headers: { 'if-match': `"${created.version}"` }, body: { domain: 'Client' } });
  t.equal(moved.status, 202, JSON.stringify(moved.body));
  t.match(moved.body.reasons, [/joins domain Client/]);
  t.same(moved.body.approvers, { roles: ['admin'], subjects: [OWNER, STEWARD], never: moved.body.proposer_subject });
  await new Promise((r) => setTimeout(r, 300));
  t.equal((await decide(api, ETL, ['client_id'])).decision, 'deny', 'not allowed client_id while pending');
  t.equal((await api.call('POST', `/v1/pending-changes/${moved.body.id}/approve`, { key: keys.officer, body: {} })).status, 403, 'compliance officers do not grant domain membership');
  await approvePending(api, moved, { key: keys.steward });
  await until(async () => (await decide(api, ETL, ['client_id'])).decision === 'allow', 'allowed once approved');

  // Created straight into a domain is the same move.
  const direct = await api.call('POST', '/v1/principals', { key: keys.otherSteward, body: { arn: 'arn:aws:iam::111122223333:role/other', name: 'other', kind: 'pipeline', domain: 'Client' } });
  t.equal(direct.status, 202);
  t.equal((await api.call('GET', '/v1/principals?arn=arn:aws:iam::111122223333:role/other', { as: 'auditor' })).body.items.length, 0);
  const applied = await approvePending(api, direct, { key: keys.owner });
  t.equal(applied.status, 'applied');
  t.match((await api.call('GET', '/v1/principals?arn=arn:aws:iam::111122223333:role/other', { as: 'auditor' })).body.items, [{ domain: 'Client' }]);
});

t.test('one officer activates a bundle alone: pending until a second officer approves', async (t) => {
  const { api, keys } = await demo(t);
  const before = (await api.call('GET', '/v1/policy-bundles?active=true', { as: 'auditor' })).body.items[0];
  const uploaded = await api.call('POST', '/v1/policy-bundles', { key: keys.officer, body: await shippedAsRevision('rego-permissive'), headers: { 'content-type': 'application/gzip' } });
  t.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
  const proposed = await api.call('POST', `/v1/policy-bundles/${uploaded.body.id}/activate`, { key: keys.officer });
  t.equal(proposed.status, 202, JSON.stringify(proposed.body));
  t.match(proposed.body, { kind: 'policy-bundles.activate', entity_id: uploaded.body.id, payload: { revision: 'rego-permissive', replaces: { id: before.id } } });
  t.equal((await api.call('GET', '/v1/policy-bundles?active=true', { as: 'auditor' })).body.items[0].id, before.id, 'still the earlier bundle');
  t.equal((await api.call('POST', `/v1/pending-changes/${proposed.body.id}/approve`, { key: keys.officer, body: {} })).status, 403);
  t.equal((await api.call('POST', `/v1/pending-changes/${proposed.body.id}/approve`, { key: keys.steward, body: {} })).status, 403, 'stewards do not approve policy');
  await approvePending(api, proposed, { key: keys.officer2 });
  const active = (await api.call('GET', '/v1/policy-bundles?active=true', { as: 'auditor' })).body.items[0];
  t.match(active, { id: uploaded.body.id, activated_by: 'officer-2' });

  // Going back to the earlier bundle is an activation too.
  const back = await api.call('POST', `/v1/policy-bundles/${before.id}/activate`, { key: keys.officer2 });
  t.equal(back.status, 202);
  t.equal((await api.call('POST', `/v1/policy-bundles/${uploaded.body.id}/activate`, { key: keys.officer2 })).status, 200, 'the active bundle again: nothing to approve');
});

t.test('admin break-glass: applied at once with a reason, flagged in the audit log, the pending changes and the evidence', async (t) => {
  const { api, keys, clientsAsset } = await demo(t);
  const url = `/v1/assets/${clientsAsset.id}`;
  const body = { masking_rule: null };
  const noReason = await api.call('PATCH', `${url}/columns/ssn`, { as: 'admin', headers: { 'if-match': await etag(api, url), 'x-break-glass-reason': 'short' }, body });
  t.equal(noReason.status, 400);
  t.match(noReason.body.errors, [{ field: 'x-break-glass-reason' }]);
  const notAdmin = await api.call('PATCH', `${url}/columns/ssn`, { key: keys.steward, headers: { 'if-match': await etag(api, url), 'x-break-glass-reason': 'the masking breaks the fraud pipeline tonight' }, body });
  t.equal(notAdmin.status, 403);
  t.match(notAdmin.body.detail, /only an admin may break glass/);

  const reason = 'INC-4711: masking UDF crashes the nightly fraud pipeline';
  const broke = await api.call('PATCH', `${url}/columns/ssn`, { as: 'admin', headers: { 'if-match': await etag(api, url), 'x-break-glass-reason': reason }, body });
  t.equal(broke.status, 200, JSON.stringify(broke.body));
  t.equal(broke.body.columns.find((c: any) => c.name === 'ssn').masking_rule, null);
  const audit = (await api.call('GET', `/v1/audit-log?entity=assets&entity_id=${clientsAsset.id}`, { as: 'auditor' })).body.items[0];
  t.match(audit, { action: 'update_column', actor_subject: `key:${audit.actor_key_id}`, break_glass_reason: reason, pending_change_id: String });
  const listed = await api.call('GET', '/v1/pending-changes?break_glass=true', { as: 'auditor' });
  t.match(listed.body.items, [{ id: audit.pending_change_id, status: 'applied', break_glass_reason: reason, decision_note: 'break-glass' }]);
  const evidence = await api.call('GET', '/v1/evidence?control=CC8.1&kind=change', { as: 'auditor' });
  t.equal(evidence.body.items.length, 1);
  const item = await api.call('GET', `/v1/evidence/${evidence.body.items[0].id}`, { as: 'auditor' });
  t.match(item.body.body ?? item.body, { event: 'break_glass', break_glass: true, change: { break_glass_reason: reason } });
});

t.test('pending changes expire, go stale, page, and are refused once expired', async (t) => {
  const { api, keys, clientsAsset } = await demo(t);
  const url = `/v1/assets/${clientsAsset.id}`;
  const first = await api.call('PATCH', `${url}/columns/ssn`, { key: keys.otherSteward, headers: { 'if-match': await etag(api, url) }, body: { masking_rule: null } });
  const second = await api.call('PATCH', `${url}/columns/first_name`, { key: keys.otherSteward, headers: { 'if-match': await etag(api, url) }, body: { classification: 'public' } });
  t.equal(second.status, 202, JSON.stringify(second.body));

  // A raise in between: the asset is no longer the version the first change was made from.
  const raised = await api.call('PATCH', `${url}/columns/marital_status`, { key: keys.otherSteward, headers: { 'if-match': await etag(api, url) }, body: { classification: 'restricted' } });
  t.equal(raised.status, 200);
  const staleApproval = await api.call('POST', `/v1/pending-changes/${first.body.id}/approve`, { key: keys.officer, body: {} });
  t.equal(staleApproval.status, 409);
  t.match(staleApproval.body, { type: '/problems/stale-change', detail: /changed since this change was proposed/ });
  t.equal((await api.call('GET', `/v1/pending-changes/${first.body.id}`, { as: 'auditor' })).body.status, 'pending', 'a refused approval leaves it pending');

  const page1 = await api.call('GET', '/v1/pending-changes?status=pending&limit=1', { as: 'auditor' });
  t.equal(page1.body.items.length, 1);
  const page2 = await api.call('GET', `/v1/pending-changes?status=pending&limit=1&cursor=${page1.body.next_cursor}`, { as: 'auditor' });
  t.same([...page1.body.items, ...page2.body.items].map((c: any) => c.id), [first.body.id, second.body.id]);
  t.equal((await api.call('GET', `/v1/pending-changes?entity=assets&entity_id=${clientsAsset.id}&kind=assets.update_column`, { as: 'auditor' })).body.items.length, 2);
  t.equal((await api.call('GET', '/v1/pending-changes?nonsense=1', { as: 'auditor' })).status, 400);
  t.equal((await api.call('GET', '/v1/pending-changes', { as: 'pipeline' })).status, 403);

  // Past its expiry, a change cannot be approved, and the sweep marks it expired (with evidence).
  await api.app.db('pending_changes').where({ id: second.body.id }).update({ expires_at: new Date(Date.now() - 1000) });
  const late = await api.call('POST', `/v1/pending-changes/${second.body.id}/approve`, { key: keys.officer, body: {} });
  t.equal(late.status, 409);
  t.match(late.body.detail, /expired/);
  t.equal(await expirePendingChanges(api.app.db), 1);
  t.match((await api.call('GET', `/v1/pending-changes/${second.body.id}`, { as: 'auditor' })).body, { status: 'expired', decided_by: 'system:change-expiry' });
  t.equal(await expirePendingChanges(api.app.db), 0, 'idempotent');
  const events = (await api.call('GET', '/v1/evidence?control=CC8.1&kind=change&limit=500', { as: 'auditor' })).body.items.length;
  t.equal(events, 3, 'two proposals and one expiry');
  await t.rejects(
    api.app.db('pending_changes').where({ id: first.body.id }).update({ status: 'applied', decided_by: 'x', decider_subject: first.body.proposer_subject, decided_at: new Date() }),
    /pending_changes_four_eyes/,
  );
});

t.test('a remediation rollback changes AWS only once a second officer approves it', async (t) => {
  // The rollback job itself is tested against moto in test/remediation/remediation-s3.test.ts; here
  // the gate: an applied remediation (recorded directly) and who may roll it back.
  const { api, keys } = await demo(t);
  const id = '01900000-0000-7000-8000-0000000000aa';
  await api.app.db('remediations').insert({
    id, action: 's3_block_public_access', risk: 'low', params: '{}', rule_id: 's3.bucket_public_read', controls: '["CC6.1"]',
    status: 'verified', trigger: 'api', requester: 'officer-1', requester_subject: 'someone', approval_required: true,
  });
  const proposed = await api.call('POST', `/v1/remediations/${id}/rollback`, { key: keys.officer, body: { comment: 'the site must be public' } });
  t.equal(proposed.status, 202, JSON.stringify(proposed.body));
  t.match(proposed.body, { status: 'pending', kind: 'remediations.rollback', entity_id: id, payload: { comment: 'the site must be public' } });
  t.equal((await api.call('GET', `/v1/remediations/${id}`, { as: 'auditor' })).body.status, 'verified', 'nothing rolls back while pending');
  t.equal((await api.call('POST', `/v1/pending-changes/${proposed.body.id}/approve`, { key: keys.officer, body: {} })).status, 403);
  t.equal((await api.call('POST', `/v1/pending-changes/${proposed.body.id}/approve`, { key: keys.steward, body: {} })).status, 403, 'stewards do not approve rollbacks');
  await approvePending(api, proposed, { key: keys.officer2 });
  const after = (await api.call('GET', `/v1/remediations/${id}`, { as: 'auditor' })).body.status;
  t.ok(['rolling_back', 'rolled_back', 'rollback_failed'].includes(after), `rollback started once approved (${after})`);
  const audit = (await api.call('GET', `/v1/audit-log?entity=remediations&entity_id=${id}&action=rollback_requested`, { as: 'auditor' })).body.items;
  t.match(audit, [{ actor: 'officer-2', pending_change_id: proposed.body.id }]);
});

t.test('one admin maps an IdP group to admin: pending until a second admin (another subject) approves; removing is immediate', async (t) => {
  const api = await testApp(t);
  const second = await create(api, '/v1/api-keys', { name: 'second-admin', role: 'admin', subject: 'second.admin@bank.example' });
  // Another person's key: had the proposing admin kept it, it would count as the proposer (test/security/key-issuer.test.ts).
  await handOver(api, second.id);
  const admin2 = second.key as string;
  const officer = (await create(api, '/v1/api-keys', { name: 'officer', role: 'compliance_officer', subject: 'officer@bank.example' })).key as string;
  const mapped = async () => (await api.call('GET', '/v1/role-mappings', { as: 'auditor' })).body.items.map((m: any) => `${m.group}:${m.role}`);

  // Every role given to a whole group waits for a second person, the privileged ones and the others.
  const proposals: Record<string, any> = {};
  for (const [group, role] of [['platform-admins', 'admin'], ['compliance', 'compliance_officer'], ['data-stewards', 'steward'], ['risk-analysts', 'auditor']] as const) {
    const proposed = await api.call('POST', '/v1/role-mappings', { as: 'admin', body: { group, role } });
    t.equal(proposed.status, 202, `${group} → ${role}: ${JSON.stringify(proposed.body)}`);
    t.match(proposed.body, { status: 'pending', kind: 'role-mappings.create', entity: 'role-mappings', payload: { group, role } });
    t.match(proposed.body.reasons, [new RegExp(`everyone the identity provider puts in group ${group} signs in as ${role}`)]);
    t.same(proposed.body.approvers, { roles: ['admin'], subjects: [], never: proposed.body.proposer_subject });
    proposals[role] = proposed;
  }
  t.same(await mapped(), [], 'nothing mapped while pending');

  // Not the proposer; not a compliance officer; a second admin does, and the mapping exists at once.
  const own = await api.call('POST', `/v1/pending-changes/${proposals.admin.body.id}/approve`, { as: 'admin', body: {} });
  t.equal(own.status, 403);
  t.match(own.body.detail, /proposed this change and may not approve it/);
  t.equal((await api.call('POST', `/v1/pending-changes/${proposals.admin.body.id}/approve`, { key: officer, body: {} })).status, 403, 'officers do not grant roles');
  const approved = await approvePending(api, proposals.admin, { key: admin2 });
  t.match(approved, { status: 'applied', decider_subject: 'second.admin@bank.example' });
  t.same(await mapped(), ['platform-admins:admin']);
  const audit = (await api.call('GET', '/v1/audit-log?entity=role-mappings&action=create', { as: 'auditor' })).body.items;
  t.match(audit, [{ actor: 'second-admin', actor_subject: 'second.admin@bank.example', pending_change_id: proposals.admin.body.id, new_value: { group: 'platform-admins', role: 'admin' } }]);

  // A group already mapped is refused when proposed, not after an approval.
  const twice = await api.call('POST', '/v1/role-mappings', { key: admin2, body: { group: 'platform-admins', role: 'auditor' } });
  t.equal(twice.status, 409);

  // Break-glass: one admin, a reason, applied at once and flagged.
  const reason = 'INC-5120: IdP migration, the auditors must sign in today';
  const broke = await api.call('POST', '/v1/role-mappings', { as: 'admin', headers: { 'x-break-glass-reason': reason }, body: { group: 'external-audit', role: 'auditor' } });
  t.equal(broke.status, 201, JSON.stringify(broke.body));
  t.match(broke.headers.location, /^\/v1\/role-mappings\//);
  const flagged = (await api.call('GET', `/v1/audit-log?entity=role-mappings&entity_id=${broke.body.id}`, { as: 'auditor' })).body.items[0];
  t.match(flagged, { action: 'create', break_glass_reason: reason, pending_change_id: String });
  t.equal((await api.call('POST', '/v1/role-mappings', { key: officer, headers: { 'x-break-glass-reason': reason }, body: { group: 'x', role: 'auditor' } })).status, 403, 'only admins map groups');

  // Removing a mapping takes a role away: immediate.
  const removed = await api.call('DELETE', `/v1/role-mappings/${broke.body.id}`, { as: 'admin' });
  t.equal(removed.status, 204);
  t.same(await mapped(), ['platform-admins:admin']);
});

t.test('one officer stops collection from an account alone (PATCH enabled=false, a collector dropped, the source moved or deleted): pending', async (t) => {
  const api = await testApp(t);
  const officer = (await create(api, '/v1/api-keys', { name: 'officer-1', role: 'compliance_officer', subject: 'officer1@bank.example' })).key as string;
  const officer2 = (await create(api, '/v1/api-keys', { name: 'officer-2', role: 'compliance_officer', subject: 'officer2@bank.example' })).key as string;
  const created = await api.call('POST', '/v1/sources', { key: officer, body: { name: 'wealth-prod', account_id: '111122223333', region: 'eu-west-1', services: ['s3', 'iam'] } });
  t.equal(created.status, 201, 'a new source collects more: immediate');
  const url = `/v1/sources/${created.body.id}`;
  const read = async () => (await api.call('GET', url, { as: 'auditor' })).body;

  const proposals = {
    disable: { body: { enabled: false }, reason: /source wealth-prod is disabled: collection from account 111122223333 in eu-west-1 stops/ },
    narrow: { body: { services: ['s3'] }, reason: /source wealth-prod stops collecting iam from account 111122223333 in eu-west-1/ },
    move: { body: { account_id: '444455556666' }, reason: /source wealth-prod moves to account 444455556666 in eu-west-1: collection from account 111122223333 in eu-west-1 stops/ },
  };
  for (const [what, { body, reason }] of Object.entries(proposals)) {
    const proposed = await api.call('PATCH', url, { key: officer, headers: { 'if-match': `"${created.body.version}"` }, body });
    t.equal(proposed.status, 202, `${what}: ${JSON.stringify(proposed.body)}`);
    t.match(proposed.body, { kind: 'sources.update', status: 'pending', approvers: { roles: ['admin', 'compliance_officer'], subjects: [] } });
    t.match(proposed.body.reasons, [reason]);
  }
  t.match(await read(), { enabled: true, services: ['s3', 'iam'], account_id: '111122223333', version: created.body.version }, 'unchanged while pending');
  const removal = await api.call('DELETE', url, { key: officer });
  t.equal(removal.status, 202, JSON.stringify(removal.body));
  t.match(removal.body, { kind: 'sources.delete', reasons: [/source wealth-prod is deleted: collection from account 111122223333 in eu-west-1 stops/] });
  t.equal((await api.call('GET', url, { as: 'auditor' })).status, 200, 'still there while pending');

  // Collecting more is immediate.
  const more = await api.call('PATCH', url, { key: officer, headers: { 'if-match': `"${created.body.version}"` }, body: { services: ['s3', 'iam', 'guardduty'] } });
  t.equal(more.status, 200, JSON.stringify(more.body));

  // A second officer approves the disabling proposed against the earlier version: stale. Proposed
  // again and approved, the source stops; a disabled source is then deleted at once (it collects nothing).
  const pending = (await api.call('GET', `/v1/pending-changes?entity=sources&entity_id=${created.body.id}&kind=sources.update`, { as: 'auditor' })).body.items;
  t.equal((await api.call('POST', `/v1/pending-changes/${pending[0].id}/approve`, { key: officer2, body: {} })).status, 409);
  const disable = await api.call('PATCH', url, { key: officer, headers: { 'if-match': more.headers.etag }, body: { enabled: false } });
  t.equal((await api.call('POST', `/v1/pending-changes/${disable.body.id}/approve`, { key: officer, body: {} })).status, 403, 'not the proposer');
  await approvePending(api, disable, { key: officer2 });
  t.equal((await read()).enabled, false);
  t.equal((await api.call('DELETE', url, { key: officer })).status, 204, 'a disabled source is deleted at once');
  t.equal((await api.call('GET', url, { as: 'auditor' })).status, 404);

  // An enabled source deleted by an admin breaking glass: at once, flagged.
  const other = await create(api, '/v1/sources', { name: 'wealth-dr', account_id: '111122223333', region: 'us-east-1', services: ['s3'] });
  const reason = 'INC-6001: the DR account is being closed tonight';
  t.equal((await api.call('DELETE', `/v1/sources/${other.id}`, { as: 'admin', headers: { 'x-break-glass-reason': reason } })).status, 204);
  t.match((await api.call('GET', `/v1/audit-log?entity=sources&entity_id=${other.id}&action=delete`, { as: 'auditor' })).body.items, [{ break_glass_reason: reason }]);
});
