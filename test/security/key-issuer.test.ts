import t from 'tap';
import { migrations } from '../../migrations/index.js';
import { createKnex } from '../../src/db/database.js';
import { loadDemoData } from '../../src/demo/load.js';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { evaluateSnapshot, freshDatabaseUrl, testApp, type TestApp } from '../helpers/app.js';

// Separation of duties across key issuance: an admin who mints a key for "someone else" holds that
// key (it is shown to them), so four-eyes counts the key's subject and its issuer as one person
// (src/auth/identity.ts). The reproduction: the bootstrap admin proposed a protection-lowering change,
// minted a compliance_officer key for subject someone-else, approved with it, and it was applied.

const etag = async (api: TestApp, url: string) => (await api.call('GET', url, { as: 'auditor' })).headers.etag as string;
const newKey = async (api: TestApp, name: string, role: string, subject: string, key?: string) => {
  const created = await api.call('POST', '/v1/api-keys', { ...(key ? { key } : { as: 'admin' }), body: { name, role, subject } });
  if (created.status !== 201) throw new Error(`POST /v1/api-keys → ${created.status} ${JSON.stringify(created.body)}`);
  return created.body as { id: string; key: string; subject: string; created_by_subject: string | null };
};

async function demo(t: Parameters<typeof testApp>[0]) {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  const clients = (await api.call('GET', '/v1/assets?database=wealth&table=clients&store=aurora', { as: 'auditor' })).body.items[0];
  const url = `/v1/assets/${clients.id}`;
  const bootstrap = (await api.call('GET', '/v1/session', { as: 'admin' })).body.subject as string;
  /** Proposes lowering clients.ssn to public (a classification downgrade and a masking removal). */
  const lowerSsn = async (key: string) => {
    const proposed = await api.call('PATCH', `${url}/columns/ssn`, { key, headers: { 'if-match': await etag(api, url) }, body: { classification: 'public', masking_rule: null, pii_type: null } });
    t.equal(proposed.status, 202, JSON.stringify(proposed.body));
    return proposed.body as { id: string; proposer_subject: string };
  };
  const ssn = async () => (await api.call('GET', url, { as: 'auditor' })).body.columns.find((c: { name: string }) => c.name === 'ssn');
  return { api, url, bootstrap, lowerSsn, ssn };
}

const approve = (api: TestApp, id: string, key: string) => api.call('POST', `/v1/pending-changes/${id}/approve`, { key, body: { note: 'looks fine' } });

t.test('an admin proposes a downgrade, mints a compliance_officer key for "someone-else" and approves with it: refused', async (t) => {
  const { api, bootstrap, lowerSsn, ssn } = await demo(t);
  t.match(bootstrap, /^key:/, 'the bootstrap key is its own subject');
  const proposal = await lowerSsn(api.keys.admin);
  t.equal(proposal.proposer_subject, bootstrap);

  const puppet = await newKey(api, 'someone-else', 'compliance_officer', 'someone-else@bank.example');
  t.equal(puppet.created_by_subject, bootstrap, 'the key records who issued it');
  t.equal((await api.call('GET', `/v1/api-keys/${puppet.id}`, { as: 'auditor' })).body.created_by_subject, bootstrap, 'and shows it to access reviews');

  // The key sees it may not approve, in the list and on the change itself.
  const listed = await api.call('GET', '/v1/pending-changes?status=pending', { key: puppet.key });
  t.same(listed.body.items.map((c: { id: string; can_approve: boolean }) => [c.id, c.can_approve]), [[proposal.id, false]]);
  t.same((await api.call('GET', '/v1/pending-changes?can_approve=true', { key: puppet.key })).body.items, []);
  t.equal((await api.call('GET', `/v1/pending-changes/${proposal.id}`, { key: puppet.key })).body.can_approve, false);

  const refused = await approve(api, proposal.id, puppet.key);
  t.equal(refused.status, 403);
  t.match(refused.headers['content-type'], /application\/problem\+json/);
  t.match(refused.body, { type: '/problems/forbidden', status: 403 });
  t.match(refused.body.detail, new RegExp(`counts as the same person: ${bootstrap} issued a key of someone-else@bank\\.example`));
  t.match(await ssn(), { classification: 'restricted', masking_rule: 'ssn_last4' }, 'nothing applied');
  t.match((await api.call('GET', `/v1/pending-changes/${proposal.id}`, { as: 'auditor' })).body, { status: 'pending', decided_by: null });

  // The other way round: proposed with a steward key the admin minted, approved with the admin's own.
  const sockPuppet = await newKey(api, 'someone-else-steward', 'steward', 'someone-else.steward@bank.example');
  const theirs = await lowerSsn(sockPuppet.key);
  const back = await approve(api, theirs.id, api.keys.admin);
  t.equal(back.status, 403);
  t.match(back.body.detail, new RegExp(`someone-else\\.steward@bank\\.example proposed this change and ${bootstrap} counts as the same person: ${bootstrap} issued a key of someone-else\\.steward@bank\\.example`));

  // An officer whose key the admin did not issue approves: four eyes as before.
  const officer = (await api.call('GET', '/v1/session', { as: 'compliance_officer' })).body.subject;
  const approved = await approve(api, proposal.id, api.keys.compliance_officer);
  t.equal(approved.status, 200, JSON.stringify(approved.body));
  t.match(approved.body, { status: 'applied', decider_subject: officer });
  t.match(await ssn(), { classification: 'public', masking_rule: null });
});

t.test('issuance is followed through keys it issued and through rotation; two keys of one issuer are two people', async (t) => {
  const { api, bootstrap, lowerSsn } = await demo(t);
  // The admin mints a deputy admin, whose key mints an officer: the admin holds both.
  const deputy = await newKey(api, 'deputy', 'admin', 'deputy@bank.example');
  const puppet = await newKey(api, 'puppet', 'compliance_officer', 'puppet@bank.example', deputy.key);
  t.equal(puppet.created_by_subject, 'deputy@bank.example');
  const proposal = await lowerSsn(api.keys.admin);
  const refused = await approve(api, proposal.id, puppet.key);
  t.equal(refused.status, 403);
  t.match(refused.body.detail, new RegExp(`${bootstrap} issued a key of puppet@bank\\.example \\(directly or through a key it issued\\)`));

  // Carol and Dave both got their keys from the admin: neither holds the other's, so they are two.
  const carol = await newKey(api, 'carol', 'steward', 'carol@bank.example');
  const dave = await newKey(api, 'dave', 'compliance_officer', 'dave@bank.example');
  const carols = await lowerSsn(carol.key);
  t.equal((await approve(api, carols.id, carol.key)).status, 403, 'the proposer herself');
  t.equal((await api.call('GET', `/v1/pending-changes/${carols.id}`, { key: dave.key })).body.can_approve, true);

  // Rotating Dave's key shows the new key to the rotating admin: the deputy now holds a key of Dave.
  const rotated = await api.call('POST', `/v1/api-keys/${dave.id}/rotate`, { key: deputy.key, body: {} });
  t.equal(rotated.status, 201, JSON.stringify(rotated.body));
  t.equal(rotated.body.created_by_subject, 'deputy@bank.example');
  const deputys = await lowerSsn(deputy.key);
  const viaRotation = await approve(api, deputys.id, rotated.body.key);
  t.equal(viaRotation.status, 403);
  t.match(viaRotation.body.detail, /deputy@bank\.example issued a key of dave@bank\.example/);

  // Dave approves Carol's change with his new key.
  t.equal((await approve(api, carols.id, rotated.body.key)).status, 200);
});

t.test('the audited break-glass stays: an admin applies a change alone, flagged', async (t) => {
  const { api, url, ssn } = await demo(t);
  const reason = 'INC-7731: the tokenisation job needs the column unmasked tonight';
  const broke = await api.call('PATCH', `${url}/columns/ssn`, { as: 'admin', headers: { 'if-match': await etag(api, url), 'x-break-glass-reason': reason }, body: { classification: 'public', masking_rule: null, pii_type: null } });
  t.equal(broke.status, 200, JSON.stringify(broke.body));
  t.match(await ssn(), { classification: 'public' });
  t.match((await api.call('GET', '/v1/pending-changes?break_glass=true', { as: 'auditor' })).body.items, [{ status: 'applied', break_glass_reason: reason }]);
});

t.test('the other four-eyes decisions compare issuers too: exceptions, access requests', async (t) => {
  const { api, bootstrap } = await demo(t);
  const puppet = await newKey(api, 'puppet', 'compliance_officer', 'puppet@bank.example');

  // An access request by the admin, decided with the key the admin minted (an admin may decide any).
  const arn = 'arn:aws:iam::111122223333:role/kyc-review';
  t.equal((await api.call('POST', '/v1/principals', { as: 'admin', body: { arn, name: 'kyc-review', kind: 'pipeline' } })).status, 201);
  const requested = await api.call('POST', '/v1/access/requests', { as: 'admin', body: { principal: arn, scope: 'domain', domain: 'Client', permissions: ['SELECT'], purpose: 'kyc', duration_days: 7 } });
  t.equal(requested.status, 201, JSON.stringify(requested.body));
  const deputy = await newKey(api, 'deputy', 'admin', 'deputy@bank.example');
  const refused = await api.call('POST', `/v1/access/requests/${requested.body.id}/approve`, { key: deputy.key, body: {} });
  t.equal(refused.status, 403);
  t.match(refused.body.detail, new RegExp(`counts as the same person \\(${bootstrap} issued a key of deputy@bank\\.example`));
  t.equal((await api.call('GET', `/v1/access/requests/${requested.body.id}`, { as: 'auditor' })).body.status, 'pending');

  // An exception requested with the minted officer key, approved with the admin's own.
  const finding = await seedFinding(api);
  const exception = await api.call('POST', '/v1/exceptions', {
    key: puppet.key,
    body: { finding_id: finding, justification: 'Public by design: the marketing site', compensating_control: 'CloudFront in front; weekly review', expires_at: new Date(Date.now() + 7 * 86_400_000).toISOString() },
  });
  t.equal(exception.status, 201, JSON.stringify(exception.body));
  const own = await api.call('POST', `/v1/exceptions/${exception.body.id}/approve`, { as: 'admin', body: {} });
  t.equal(own.status, 403);
  t.match(own.body.detail, new RegExp(`puppet@bank\\.example requested this exception and ${bootstrap} counts as the same person`));
  t.equal((await api.call('POST', `/v1/exceptions/${exception.body.id}/approve`, { as: 'compliance_officer', body: {} })).status, 200, 'another officer approves');
});

/** One open finding of the demo estate, as an evaluation records it. */
async function seedFinding(api: TestApp): Promise<string> {
  await evaluateSnapshot(api, wealthEstate);
  const findings = await api.call('GET', '/v1/findings?rule=s3.bucket_public_read&status=open', { as: 'auditor' });
  if (!findings.body.items?.length) throw new Error(`no finding: ${JSON.stringify(findings.body)}`);
  return findings.body.items[0].id;
}

t.test('migration 031 gives existing keys the issuer their audit rows name', async (t) => {
  const knex = createKnex(await freshDatabaseUrl());
  t.teardown(() => knex.destroy());
  const at = migrations.findIndex((m) => m.name === '031_api_key_issuer');
  t.ok(at > 0, 'migration 031 is listed');
  for (let i = 0; i < at; i++) await knex.migrate.up();
  const key = (id: string, name: string, subject: string) => ({ id, name, subject, role: 'compliance_officer', key_hash: `h-${id}`, key_prefix: 'cus_x', created_by: 'x' });
  const [boot, made, rotatedFrom, rotatedTo, unknown] = ['0190a8d2-7c1e-7000-8000-00000000000a', '0190a8d2-7c1e-7000-8000-00000000000b', '0190a8d2-7c1e-7000-8000-00000000000c', '0190a8d2-7c1e-7000-8000-00000000000d', '0190a8d2-7c1e-7000-8000-00000000000e'];
  await knex('api_keys').insert([key(boot!, 'boot', `key:${boot}`), key(made!, 'made', 'made@x'), { ...key(rotatedFrom!, 'old', 'rot@x'), revoked_at: knex.fn.now(), replaced_by: rotatedTo }, key(rotatedTo!, 'new', 'rot@x'), key(unknown!, 'unknown', 'unknown@x')]);
  let n = 0;
  const audit = (entityId: string, action: string, subject: string | null, newValue: unknown = null) => ({
    actor: 'a', role: 'admin', action, entity: 'api-keys', entity_id: entityId, actor_subject: subject, new_value: JSON.stringify(newValue), prev_hash: `p${n}`, hash: `h${++n}`,
  });
  await knex('audit_log').insert([
    audit(boot!, 'create', 'system:bootstrap'),
    audit(made!, 'create', 'alice@x'),
    audit(rotatedFrom!, 'create', `key:${boot}`),
    audit(rotatedFrom!, 'rotate', 'bob@x', { replaced_by: rotatedTo }),
  ]);
  await knex.migrate.up();
  const issuers = Object.fromEntries((await knex('api_keys').select('name', 'created_by_subject')).map((r) => [r.name, r.created_by_subject]));
  t.same(issuers, { boot: null, made: 'alice@x', old: `key:${boot}`, new: 'bob@x', unknown: null });
  await knex.migrate.down();
  t.notOk(await knex.schema.hasColumn('api_keys', 'created_by_subject'), 'down drops the column');
});
