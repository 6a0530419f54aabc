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

  // An account leaves: its sources are disabled (kept, with their history), and the sync says so.
  await org.send(new RemoveAccountFromOrganizationCommand({ AccountId: trading }));
  const second = await api.call('POST', `/v1/organizations/${created.body.id}/sync`, { as: 'admin' });
  t.equal(second.status, 200, JSON.stringify(second.body));
  t.same(second.body.joined, []);
  t.same(second.body.left, [trading]);
  t.same(second.body.sources.disabled.sort(), [`bank-${trading}-eu-west-1`, `bank-${trading}-us-east-1`]);
  t.equal((await api.call('GET', `/v1/sources?account_id=${trading}&region=us-east-1`)).body.items[0].enabled, false);
  const audit = (await api.call('GET', `/v1/audit-log?entity=organizations&entity_id=${created.body.id}&action=sync`)).body.items;
  t.equal(audit.length, 2);
  t.same(audit[0].new_value.left, [trading]);

  // A management account that is not the one the credentials reach is refused before anything is listed.
  const wrong = await api.call('POST', '/v1/organizations', { as: 'compliance_officer', body: { name: 'wrong', management_account_id: '999999999999', member_role_name: 'CustosCollector', regions: ['us-east-1'], services: ['guardduty'] } });
  const refused = await api.call('POST', `/v1/organizations/${wrong.body.id}/sync`, { as: 'compliance_officer' });
  t.equal(refused.status, 409);
  t.equal(refused.body.type, '/problems/identity-mismatch');
  t.match(refused.body.detail, /credentials reach account 123456789012 .*not the source's account 999999999999/);
  t.equal((await api.call('GET', '/v1/sources?limit=100')).body.items.filter((s: { name: string }) => s.name.startsWith('wrong-')).length, 0);
});
