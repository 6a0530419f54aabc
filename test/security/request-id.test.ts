/**
 * Issue 13: the audit log records request ids Custos chose, never the client's X-Request-Id (which
 * was stored as given, so a client could write any id, or the id of someone else's request, into
 * the audit log). A valid client id (≤ 128 of [A-Za-z0-9._:-]) is kept apart, in the request's log
 * line as client_request_id; any other is ignored.
 */
import t from 'tap';
import { testApp } from '../helpers/app.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

t.test("a client's X-Request-Id never becomes the audit log's request id", async (t) => {
  const lines: string[] = [];
  const api = await testApp(t, { config: { logLevel: 'info' }, logStream: { write: (line) => void lines.push(line) } });
  const domain = (name: string) => ({ name, owner: 'o@bank.example', steward: 's@bank.example', review_frequency: 'quarterly' });

  // Two requests of two callers claim the same id.
  const first = await api.call('POST', '/v1/domains', { as: 'steward', body: domain('One'), headers: { 'x-request-id': 'pipeline-run-42' } });
  const second = await api.call('POST', '/v1/domains', { as: 'admin', body: domain('Two'), headers: { 'x-request-id': 'pipeline-run-42' } });
  t.equal(first.status, 201);
  t.equal(second.status, 201);
  t.match(first.headers['x-request-id'], UUID, "the response carries Custos's id");
  t.not(first.headers['x-request-id'], second.headers['x-request-id']);

  const audit = await api.call('GET', '/v1/audit-log?entity=domains', { as: 'auditor' });
  const ids = audit.body.items.map((e: { request_id: string }) => e.request_id);
  t.same(ids.sort(), [first.headers['x-request-id'], second.headers['x-request-id']].sort(), "each row holds its own request's id, Custos's");
  t.same((await api.call('GET', '/v1/audit-log?request_id=pipeline-run-42', { as: 'auditor' })).body.items, [], "the client's id is in no row");

  // Hostile values: too long, a line break, other characters. Ignored, never stored or logged.
  for (const hostile of ['x'.repeat(129), 'a\tb', "'; DROP TABLE audit_log; --", 'id with spaces', 'ünïcode']) {
    const response = await api.call('GET', '/v1/domains', { as: 'auditor', headers: { 'x-request-id': hostile } });
    t.equal(response.status, 200);
    t.match(response.headers['x-request-id'], UUID, `${JSON.stringify(hostile.slice(0, 20))}: Custos's own id`);
  }
  const longest = 'a'.repeat(128);
  const kept = await api.call('GET', '/v1/domains', { as: 'auditor', headers: { 'x-request-id': `${longest}` } });
  const problem = await api.call('GET', '/v1/domains/00000000-0000-0000-0000-000000000000', { as: 'auditor', headers: { 'x-request-id': 'trace:abc.1-2_3' } });
  t.equal(problem.status, 404);
  t.equal(problem.body.request_id, problem.headers['x-request-id'], "a problem names Custos's id");

  // The log: the client's valid ids beside Custos's, the hostile ones nowhere.
  const logged = lines.map((line) => JSON.parse(line)).filter((entry) => entry.req);
  const clientIdOf = (reqId: string) => logged.find((entry) => entry.reqId === reqId)?.req.client_request_id;
  t.equal(clientIdOf(first.headers['x-request-id']), 'pipeline-run-42', "the client's id is logged beside Custos's");
  t.equal(clientIdOf(kept.headers['x-request-id']), longest, '128 characters are kept');
  t.equal(clientIdOf(problem.headers['x-request-id']), 'trace:abc.1-2_3');
  const output = lines.join('');
  t.notOk(output.includes('DROP TABLE') || output.includes('x'.repeat(129)) || output.includes('id with spaces'), 'invalid ids are not logged');
});
