import t from 'tap';
import { create, createClientsTable, testApp, type TestApp } from '../helpers/app.js';

// Identity: four-eyes checks compare the subject behind a key (the person), never key ids or names.

const key = async (api: TestApp, body: { name: string; role: string; subject?: string }) => create(api, '/v1/api-keys', body);
const exceptionBody = {
  rule_id: 's3.bucket_public_read',
  resource_pattern: 'wealth-*',
  justification: 'Public by design: the marketing brochure bucket',
  compensating_control: 'CloudFront signed URLs; weekly review',
  expires_at: new Date(Date.now() + 7 * 86_400_000).toISOString(),
};

t.test('a key has a subject: set by the admin, by default unique to the key; reserved and invalid subjects are refused', async (t) => {
  const api = await testApp(t);
  const a = await key(api, { name: 'a', role: 'auditor' });
  const b = await key(api, { name: 'b', role: 'auditor' });
  t.equal(a.subject, `key:${a.id}`);
  t.equal(b.subject, `key:${b.id}`);
  const alice = await key(api, { name: 'alice-laptop', role: 'steward', subject: 'alice@bank.example' });
  t.equal(alice.subject, 'alice@bank.example');
  t.equal((await api.call('GET', `/v1/api-keys/${alice.id}`, { as: 'auditor' })).body.subject, 'alice@bank.example');
  const listed = await api.call('GET', '/v1/api-keys?subject=alice@bank.example', { as: 'auditor' });
  t.same(listed.body.items.map((k: any) => k.id), [alice.id]);

  for (const subject of ['key:anything', 'system:bootstrap']) {
    const refused = await api.call('POST', '/v1/api-keys', { body: { name: 'x', role: 'steward', subject } });
    t.equal(refused.status, 400, subject);
    t.match(refused.body.detail, /subject/);
  }
  const control = await api.call('POST', '/v1/api-keys', { body: { name: 'x', role: 'steward', subject: 'bad\nsubject' } });
  t.equal(control.status, 400);
  t.match(control.body.detail, /subject/);
});

t.test('the audit log records the subject behind every change and filters by it', async (t) => {
  const api = await testApp(t);
  const alice = await key(api, { name: 'alice-laptop', role: 'steward', subject: 'alice@bank.example' });
  const made = await api.call('POST', '/v1/domains', { key: alice.key, body: { name: 'Client', owner: 'o@bank.example', steward: 's@bank.example', review_frequency: 'annual' } });
  t.equal(made.status, 201);
  const log = await api.call('GET', '/v1/audit-log?actor_subject=alice@bank.example', { as: 'auditor' });
  t.equal(log.status, 200);
  t.match(log.body.items, [{ actor: 'alice-laptop', actor_subject: 'alice@bank.example', entity: 'domains', action: 'create' }]);
  t.equal(log.body.items.length, 1);
  const bootstrap = await api.call('GET', '/v1/audit-log?actor=system:bootstrap', { as: 'auditor' });
  t.match(bootstrap.body.items[0], { actor_subject: 'system:bootstrap' }, 'system actors are their own subject');
});

t.test('exceptions: a second key of the requester is the same person and may not decide', async (t) => {
  const api = await testApp(t);
  const first = await key(api, { name: 'carol-1', role: 'compliance_officer', subject: 'carol@bank.example' });
  const second = await key(api, { name: 'carol-2', role: 'compliance_officer', subject: 'carol@bank.example' });
  const made = await api.call('POST', '/v1/exceptions', { key: first.key, body: exceptionBody });
  t.equal(made.status, 201, JSON.stringify(made.body));
  for (const verb of ['approve', 'reject']) {
    const own = await api.call('POST', `/v1/exceptions/${made.body.id}/${verb}`, { key: second.key, body: { note: 'looks fine to me' } });
    t.equal(own.status, 403, `${verb} by another key of the requester`);
    t.match(own.body.detail, /requested this exception and may not/);
  }
  const dave = await key(api, { name: 'carol-1-lookalike', role: 'compliance_officer', subject: 'dave@bank.example' });
  const approved = await api.call('POST', `/v1/exceptions/${made.body.id}/approve`, { key: dave.key, body: {} });
  t.equal(approved.status, 200, 'another person approves');
});

t.test('access requests: approvers are the subjects the domain records, not keys named like them', async (t) => {
  const api = await testApp(t);
  await create(api, '/v1/principals', { arn: 'arn:aws:iam::111122223333:role/kyc', name: 'kyc', kind: 'pipeline' });
  await createClientsTable(api, { owner: 'owner@bank.example', steward: 'steward@bank.example' });
  const requester = await key(api, { name: 'erin', role: 'steward', subject: 'erin@bank.example' });
  const body = { principal: 'arn:aws:iam::111122223333:role/kyc', scope: 'domain', domain: 'wealth', permissions: ['SELECT'], purpose: 'kyc-review', duration_days: 7 };
  const made = await api.call('POST', '/v1/access/requests', { key: requester.key, body });
  t.equal(made.status, 201, JSON.stringify(made.body));

  // Before: a key named like the steward was the steward. Now the name is only a label.
  const namedLikeSteward = await key(api, { name: 'steward@bank.example', role: 'steward' });
  const byName = await api.call('POST', `/v1/access/requests/${made.body.id}/approve`, { key: namedLikeSteward.key, body: {} });
  t.equal(byName.status, 403);
  t.match(byName.body.detail, /only the owner \(owner@bank\.example\) or steward \(steward@bank\.example\) of domain wealth/);

  // The requester's second key is still the requester.
  const erin2 = await key(api, { name: 'erin-2', role: 'steward', subject: 'erin@bank.example' });
  const ownSecondKey = await api.call('POST', `/v1/access/requests/${made.body.id}/approve`, { key: erin2.key, body: {} });
  t.equal(ownSecondKey.status, 403);
  t.match(ownSecondKey.body.detail, /erin@bank\.example made this request and may not approve it/);
  t.equal((await api.call('POST', `/v1/access/requests/${made.body.id}/withdraw`, { key: erin2.key, body: {} })).status, 200, 'the requester may withdraw with any of their keys');
});

t.test('access requests: the steward identity approves', async (t) => {
  const api = await testApp(t);
  await create(api, '/v1/principals', { arn: 'arn:aws:iam::111122223333:role/kyc', name: 'kyc', kind: 'pipeline' });
  await createClientsTable(api, { owner: 'owner@bank.example', steward: 'steward@bank.example' });
  const requester = await key(api, { name: 'erin', role: 'steward', subject: 'erin@bank.example' });
  const steward = await key(api, { name: 'sam', role: 'steward', subject: 'steward@bank.example' });
  const body = { principal: 'arn:aws:iam::111122223333:role/kyc', scope: 'domain', domain: 'wealth', permissions: ['SELECT'], purpose: 'kyc-review', duration_days: 7 };
  const made = await api.call('POST', '/v1/access/requests', { key: requester.key, body });
  const approved = await api.call('POST', `/v1/access/requests/${made.body.id}/approve`, { key: steward.key, body: {} });
  t.equal(approved.status, 200, JSON.stringify(approved.body));
  t.equal(approved.body.decided_by, 'sam');
});
