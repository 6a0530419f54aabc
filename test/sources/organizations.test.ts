import { CreateAccountCommand, CreateOrganizationCommand, OrganizationsClient, RemoveAccountFromOrganizationCommand } from '@aws-sdk/client-organizations';
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { MOTO_ACCOUNT, motoClient, motoSkip, startMoto } from '../helpers/moto.js';
import { collectAndEvaluate } from '../remediation/helpers.js';

t.test('an organization source: accounts listed, one source per account and region through the member role, joins and leaves tracked', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  // moto's default account creates the organization: it is the management account.
  const org = new OrganizationsClient(motoClient(moto.endpoint));
  t.teardown(() => org.destroy());
  await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const members: string[] = [];
  for (const name of ['trading', 'wealth']) members.push((await org.send(new CreateAccountCommand({ AccountName: name, Email: `${name}@bank.example` }))).CreateAccountStatus!.AccountId!);
  const [trading, wealth] = members as [string, string];
  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 } });

  // A per-account source registered before keeps its (account, region): the organization leaves it alone.
  const own = await api.call('POST', '/v1/sources', { as: 'compliance_officer', body: { name: 'wealth-own', account_id: wealth, region: 'eu-west-1', role_arn: `arn:aws:iam::${wealth}:role/CustosCollector`, services: ['guardduty'] } });
  t.equal(own.status, 201);

  const created = await api.call('POST', '/v1/organizations', {
    as: 'compliance_officer',
    body: { name: 'bank', management_account_id: MOTO_ACCOUNT, member_role_name: 'CustosCollector', regions: ['us-east-1', 'eu-west-1'], services: ['guardduty', 'logs'] },
  });
  t.equal(created.status, 201, JSON.stringify(created.body));
  t.equal((await api.call('POST', '/v1/organizations', { as: 'steward', body: created.body })).status, 403);
  const bad = await api.call('POST', '/v1/organizations', { as: 'compliance_officer', body: { name: 'Bank!', management_account_id: '1', member_role_name: 'x', services: ['nope'] } });
  t.equal(bad.status, 400);
  t.match(bad.headers['content-type'], /application\/problem\+json/);

  const first = await api.call('POST', `/v1/organizations/${created.body.id}/sync`, { as: 'compliance_officer' });
  t.equal(first.status, 200, JSON.stringify(first.body));
  t.same(first.body.joined, [MOTO_ACCOUNT, trading, wealth].sort());
  t.same(first.body.left, []);
  t.same(first.body.sources.created.sort(), [
    `bank-${MOTO_ACCOUNT}-eu-west-1`, `bank-${MOTO_ACCOUNT}-us-east-1`, `bank-${trading}-eu-west-1`, `bank-${trading}-us-east-1`, `bank-${wealth}-us-east-1`,
  ].sort());
  t.same(first.body.skipped, [{ account: wealth, region: 'eu-west-1', source: 'wealth-own' }]);
  const source = (await api.call('GET', `/v1/sources?account_id=${trading}&region=us-east-1`)).body.items[0];
  t.match(source, { role_arn: `arn:aws:iam::${trading}:role/CustosCollector`, services: ['guardduty', 'logs'], enabled: true });

  // Every source collects through its member role; each identity check passes in its own account.
  const { run } = await collectAndEvaluate(api);
  t.equal(run.status, 'complete', JSON.stringify(run.gaps));
  t.equal(Object.keys(run.counts).length, 11, '5 organization sources × 2 services, and wealth-own');
  t.match(run.counts[`bank-${trading}-us-east-1/guardduty`], { resources: 1 });
  const findings = (await api.call('GET', '/v1/findings?rule=guardduty.detector_enabled&limit=100')).body.items as Array<{ account: string; region: string }>;
  t.same(findings.map((f) => `${f.account}:${f.region}`).sort(), [MOTO_ACCOUNT, trading, wealth].flatMap((a) => [`${a}:eu-west-1`, `${a}:us-east-1`]).sort(), 'no detector anywhere: one finding per account and region');

  // An account leaves. Stopping collection from it lowers protection: its sources stay enabled until a
  // second person approves the pending change the sync proposes (issue 12: one person used to stop
  // collection from accounts alone). Sources are disabled, never deleted (their history stays).
  await org.send(new RemoveAccountFromOrganizationCommand({ AccountId: trading }));
  const tradingSources = [`bank-${trading}-eu-west-1`, `bank-${trading}-us-east-1`];
  const enabledOf = async () => (await api.call('GET', `/v1/sources?account_id=${trading}&limit=10`)).body.items.map((s: { enabled: boolean }) => s.enabled);
  const second = await api.call('POST', `/v1/organizations/${created.body.id}/sync`, { as: 'admin' });
  t.equal(second.status, 200, JSON.stringify(second.body));
  t.same(second.body.joined, []);
  t.same(second.body.left, [trading]);
  t.same(second.body.sources.disabled, [], 'nothing disabled by one person');
  t.same(second.body.sources.awaiting_approval.sort(), tradingSources);
  const pending = second.body.pending_change;
  t.match(pending, { status: 'pending', kind: 'organizations.narrow_sources', entity: 'organizations', entity_id: created.body.id, approvers: { roles: ['admin', 'compliance_officer'] } });
  t.match(pending.reasons, [new RegExp(`source bank-${trading}-eu-west-1 is disabled: collection from account ${trading} in eu-west-1 stops: account ${trading} left`), /us-east-1/]);
  t.same(await enabledOf(), [true, true], 'still collected while pending');
  const audit = (await api.call('GET', `/v1/audit-log?entity=organizations&entity_id=${created.body.id}&action=sync`)).body.items;
  t.equal(audit.length, 2);
  t.same(audit[0].new_value.left, [trading]);

  // Syncing again proposes nothing new: the same change is still waiting.
  const third = await api.call('POST', `/v1/organizations/${created.body.id}/sync`, { as: 'compliance_officer' });
  t.equal(third.status, 200, JSON.stringify(third.body));
  t.equal(third.body.pending_change?.id, pending.id);
  t.equal((await api.call('GET', `/v1/pending-changes?kind=organizations.narrow_sources`)).body.items.length, 1);

  // Not the proposer; a compliance officer (another subject) approves and the sources stop.
  t.equal((await api.call('POST', `/v1/pending-changes/${pending.id}/approve`, { as: 'admin', body: {} })).status, 403, 'the proposer may not approve');
  t.equal((await api.call('POST', `/v1/pending-changes/${pending.id}/approve`, { as: 'steward', body: {} })).status, 403, 'stewards do not decide collection');
  const approved = await api.call('POST', `/v1/pending-changes/${pending.id}/approve`, { as: 'compliance_officer', body: {} });
  t.equal(approved.status, 200, JSON.stringify(approved.body));
  t.same(await enabledOf(), [false, false]);
  const updates = (await api.call('GET', `/v1/audit-log?entity=sources&action=update&limit=10`)).body.items;
  t.equal(updates.length, 2);
  t.ok(updates.every((u: any) => u.pending_change_id === pending.id && u.new_value.enabled === false && u.actor === 'test-compliance_officer'), 'each source audited, with the approver and the pending change');

  // The organization drops a collector: the sources keep it until approved; an admin may break glass.
  const current = await api.call('GET', `/v1/organizations/${created.body.id}`);
  t.equal((await api.call('PATCH', `/v1/organizations/${created.body.id}`, { as: 'compliance_officer', headers: { 'if-match': current.headers.etag }, body: { services: ['guardduty'] } })).status, 200);
  const reason = 'CHG-88: CloudWatch Logs collection moves to the SIEM today';
  t.equal((await api.call('POST', `/v1/organizations/${created.body.id}/sync`, { as: 'compliance_officer', headers: { 'x-break-glass-reason': reason } })).status, 403, 'only an admin breaks glass');
  const narrowedSync = await api.call('POST', `/v1/organizations/${created.body.id}/sync`, { as: 'compliance_officer' });
  t.match(narrowedSync.body.pending_change, { status: 'pending', reasons: [/stops collecting logs from account .*: the organization no longer names it/] });
  t.match((await api.call('GET', `/v1/sources?account_id=${MOTO_ACCOUNT}&region=us-east-1`)).body.items[0].services, ['guardduty', 'logs'], 'logs still collected while pending');
  const broke = await api.call('POST', `/v1/organizations/${created.body.id}/sync`, { as: 'admin', headers: { 'x-break-glass-reason': reason } });
  t.equal(broke.status, 200, JSON.stringify(broke.body));
  t.equal(broke.body.pending_change, null);
  t.same((await api.call('GET', `/v1/sources?account_id=${MOTO_ACCOUNT}&region=us-east-1`)).body.items[0].services, ['guardduty']);
  const flagged = (await api.call('GET', `/v1/audit-log?entity=sources&action=update&limit=50`)).body.items.filter((u: any) => u.break_glass_reason === reason);
  t.equal(flagged.length, 3, `the three active accounts' us-east-1/eu-west-1 sources that collected logs (${flagged.length})`);
  t.match((await api.call('POST', `/v1/pending-changes/${narrowedSync.body.pending_change.id}/approve`, { as: 'admin', body: {} })).body, { type: '/problems/stale-change' }, 'the earlier proposal is stale once broken glass applied it');

  // A management account that is not the one the credentials reach is refused before anything is listed.
  const wrong = await api.call('POST', '/v1/organizations', { as: 'compliance_officer', body: { name: 'wrong', management_account_id: '999999999999', member_role_name: 'CustosCollector', regions: ['us-east-1'], services: ['guardduty'] } });
  const refused = await api.call('POST', `/v1/organizations/${wrong.body.id}/sync`, { as: 'compliance_officer' });
  t.equal(refused.status, 409);
  t.equal(refused.body.type, '/problems/identity-mismatch');
  t.match(refused.body.detail, /credentials reach account 123456789012 .*not the source's account 999999999999/);
  t.equal((await api.call('GET', '/v1/sources?limit=100')).body.items.filter((s: { name: string }) => s.name.startsWith('wrong-')).length, 0);
});
