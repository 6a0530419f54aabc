import t from 'tap';
import { loadDemoData } from '../src/demo/load.js';
import { testApp } from './helpers/app.js';

// A steward classifies a column, a second steward's stale edit is refused, a compliance officer
// records a review, and an auditor reads the trail: all over real HTTP on a random port.
t.test('steward to auditor', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  const address = api.app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const http = async (method: string, url: string, key: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(base + url, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, etag: response.headers.get('etag'), body: response.status === 204 ? null : await response.json() };
  };

  // The steward finds the clients table and sees marital_status is only confidential.
  const found = await http('GET', '/v1/assets?store=aurora&database=wealth&table=clients', api.keys.steward);
  t.equal(found.body.items.length, 1);
  const clients = found.body.items[0];
  t.match(clients, { classification: 'restricted', domain: 'Client', retention_policy: 'client-data' });
  t.match(clients.columns.find((c: { name: string }) => c.name === 'ssn'), { classification: 'restricted', pii_type: 'ssn', masking_rule: 'ssn_last4' });
  const { etag } = await http('GET', `/v1/assets/${clients.id}`, api.keys.steward);

  const classified = await http('PATCH', `/v1/assets/${clients.id}/columns/marital_status`, api.keys.steward, { classification: 'restricted', description: 'Family status; sensitive in estate planning' }, { 'if-match': etag! });
  t.equal(classified.status, 200);
  t.match(classified.body.columns.find((c: { name: string }) => c.name === 'marital_status'), { classification: 'restricted' });

  // A second steward, still holding the old ETag, is refused instead of overwriting silently.
  const stale = await http('PATCH', `/v1/assets/${clients.id}/columns/marital_status`, api.keys.steward, { classification: 'internal' }, { 'if-match': etag! });
  t.equal(stale.status, 412);

  // The masking rule in force on ssn, tried on a sample.
  const rules = await http('GET', '/v1/masking-rules', api.keys.steward);
  const ssnRule = rules.body.items.find((r: { name: string }) => r.name === 'ssn_last4');
  t.same((await http('POST', `/v1/masking-rules/${ssnRule.id}/preview`, api.keys.steward, { value: '123-45-6789' })).body, { masked: '***-**-6789' });

  // The compliance officer sees which reviews come due and records one.
  const due = await http('GET', '/v1/compliance-records?due_before=2026-12-31', api.keys.compliance_officer);
  t.same(due.body.items.map((r: { requirement_id: string }) => r.requirement_id), ['CC6.1', 'CC6.6', 'C1.2']);
  const cc61 = due.body.items[0];
  const reviewed = await http('PATCH', `/v1/compliance-records/${cc61.id}`, api.keys.compliance_officer, { status: 'compliant', last_review_date: '2026-11-20', next_review_date: '2027-02-20' }, { 'if-match': `"${cc61.version}"` });
  t.equal(reviewed.status, 200);

  // The auditor reads everything, changes nothing, and sees who did what.
  const trail = await http('GET', `/v1/audit-log?entity=assets&entity_id=${clients.id}`, api.keys.auditor);
  t.equal(trail.body.items[0].action, 'update_column');
  t.equal(trail.body.items[0].actor, 'test-steward');
  const before = trail.body.items[0].old_value.columns.find((c: { name: string }) => c.name === 'marital_status');
  const after = trail.body.items[0].new_value.columns.find((c: { name: string }) => c.name === 'marital_status');
  t.equal(before.classification, 'confidential');
  t.equal(after.classification, 'restricted');
  const records = await http('GET', '/v1/audit-log?entity=compliance-records&action=update', api.keys.auditor);
  t.equal(records.body.items[0].actor, 'test-compliance_officer');
  t.equal((await http('PATCH', `/v1/assets/${clients.id}/columns/ssn`, api.keys.auditor, { description: 'x' }, { 'if-match': classified.etag! })).status, 403);
  t.equal((await http('POST', '/v1/domains', api.keys.auditor, { name: 'X', owner: 'o', steward: 's', review_frequency: 'annual' })).status, 403);

  // Pipelines ask for decisions (a later capability), not for the catalog.
  t.equal((await http('GET', '/v1/assets', api.keys.pipeline)).status, 403);
});
