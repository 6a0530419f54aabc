import t from 'tap';
import { ROLES, type Role } from '../../src/http/schemas.js';
import { testApp } from '../helpers/app.js';

// The expected permissions, written out by hand: this test is the policy, not a copy of the code's.
const A: Role = 'admin', S: Role = 'steward', C: Role = 'compliance_officer', U: Role = 'auditor', P: Role = 'pipeline';
const READ = [A, S, C, U];
const crud = (base: string, write: Role[]) => ({
  [`GET ${base}`]: READ,
  [`POST ${base}`]: write,
  [`GET ${base}/{id}`]: READ,
  [`PATCH ${base}/{id}`]: write,
  [`DELETE ${base}/{id}`]: write,
});

const MATRIX: Record<string, Role[] | 'public'> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'POST /v1/api-keys': [A],
  'GET /v1/api-keys': [A, C, U],
  'GET /v1/api-keys/{id}': [A, C, U],
  'DELETE /v1/api-keys/{id}': [A],
  'POST /v1/api-keys/{id}/rotate': [A],
  'PUT /v1/api-keys/{id}/principals': [A],
  'GET /v1/session': [A, S, C, U, P],
  'GET /v1/overview': READ,
  'GET /v1/role-mappings': [A, C, U],
  'POST /v1/role-mappings': [A],
  'DELETE /v1/role-mappings/{id}': [A],
  'GET /v1/audit-log': [A, C, U],
  'GET /v1/audit-log/{id}': [A, C, U],
  'POST /v1/audit-log/verify': [A, C, U],
  'POST /v1/integrity/checkpoints': [A, C],
  'POST /v1/integrity/verify': [A, C, U],
  'GET /v1/policies': READ,
  'GET /v1/policies/{id}': READ,
  'GET /v1/policy-bundles': READ,
  'GET /v1/policy-bundles/{id}': READ,
  'GET /v1/policy-bundles/{id}/archive': [A, C, U],
  'POST /v1/policy-bundles': [A, C],
  'POST /v1/policy-bundles/{id}/activate': [A, C],
  'POST /v1/decisions': [A, S, C, P],
  'GET /v1/decisions': [A, C, U],
  'GET /v1/decisions/{id}': [A, C, U],
  'POST /v1/decisions/{id}/replay': [A, S, C, U],
  'POST /v1/policy-bundles/{id}/impact': [A, C, U],
  ...crud('/v1/sources', [A, C]),
  ...crud('/v1/organizations', [A, C]),
  'POST /v1/organizations/{id}/sync': [A, C],
  ...crud('/v1/principals', [A, S]),
  'POST /v1/access/requests': [A, S, C],
  'GET /v1/access/requests': READ,
  'GET /v1/access/requests/{id}': READ,
  'POST /v1/access/requests/{id}/approve': [A, S, C],
  'POST /v1/access/requests/{id}/reject': [A, S, C],
  'POST /v1/access/requests/{id}/withdraw': [A, S, C],
  'GET /v1/access/grants': READ,
  'GET /v1/access/grants/{id}': READ,
  'POST /v1/access/grants/{id}/revoke': [A, S, C],
  'POST /v1/access/grants/{id}/retry': [A, C],
  'POST /v1/access/reconcile': [A, C],
  'GET /v1/remediation-actions': [A, C, U],
  'POST /v1/remediations': [A, C],
  'GET /v1/remediations': [A, C, U],
  'GET /v1/remediations/{id}': [A, C, U],
  'POST /v1/remediations/{id}/approve': [A, C],
  'POST /v1/remediations/{id}/execute': [A, C],
  'POST /v1/remediations/{id}/rollback': [A, C],
  'POST /v1/exceptions': [A, C],
  'GET /v1/exceptions': READ,
  'GET /v1/exceptions/{id}': READ,
  'POST /v1/exceptions/{id}/approve': [A, C],
  'POST /v1/exceptions/{id}/reject': [A, C],
  'POST /v1/exceptions/{id}/revoke': [A, C],
  'GET /v1/pending-changes': READ,
  'GET /v1/pending-changes/{id}': READ,
  'POST /v1/pending-changes/{id}/approve': [A, S, C],
  'POST /v1/pending-changes/{id}/reject': [A, S, C],
  'POST /v1/pending-changes/{id}/withdraw': [A, S, C],
  'GET /v1/evidence': READ,
  'GET /v1/evidence/{id}': READ,
  'POST /v1/evidence/verify': [A, C, U],
  'GET /v1/evidence/public-key': [A, S, C, U, P],
  'GET /v1/evidence/export': [A, C, U],
  'GET /v1/controls': READ,
  'GET /v1/controls/{id}': READ,
  'GET /v1/controls/{id}/history': READ,
  'GET /v1/controls/{id}/coverage': READ,
  'POST /v1/controls/{id}/attestations': [A, C],
  'GET /v1/controls/{id}/attestations': READ,
  'GET /v1/attestations/{id}': READ,
  'GET /v1/attestations/{id}/files/{fileId}': READ,
  'POST /v1/access/decisions': [A, P],
  'POST /v1/access/decisions:batch': [A, P],
  'GET /v1/access/decisions/{id}': [A, C, U, P],
  'POST /v1/collections': [A, C],
  'GET /v1/collections': READ,
  'GET /v1/collections/{id}': READ,
  'GET /v1/collections/{id}/resources': READ,
  'GET /v1/collections/{id}/diff': READ,
  'POST /v1/evaluations': [A, C],
  'GET /v1/evaluations': READ,
  'GET /v1/evaluations/{id}': READ,
  'GET /v1/findings': READ,
  'GET /v1/findings/{id}': READ,
  ...crud('/v1/classifications', [A, C]),
  ...crud('/v1/domains', [A, S]),
  ...crud('/v1/masking-rules', [A, C]),
  'POST /v1/masking-rules/{id}/preview': [A, S, C, U],
  ...crud('/v1/retention-policies', [A, C]),
  ...crud('/v1/assets', [A, S]),
  'PATCH /v1/assets/{id}/columns/{column}': [A, S],
  ...crud('/v1/data-quality-rules', [A, S]),
  ...crud('/v1/data-quality-connections', [A]),
  'POST /v1/data-quality-rules/{id}/run': [A, S, C],
  'GET /v1/data-quality-rules/{id}/results': READ,
  'POST /v1/data-quality-runs': [A, S, C],
  'GET /v1/data-quality-runs': READ,
  'GET /v1/data-quality-runs/{id}': READ,
  ...crud('/v1/compliance-records', [A, C]),
  ...crud('/v1/alerts', [A, C]),
  'POST /v1/alerts/{id}/test': [A, C],
  'POST /v1/alerts/{id}/channels/{channelId}/rotate-secret': [A, C],
  'GET /v1/alert-metrics': READ,
  'GET /v1/alert-events': READ,
  'GET /v1/alert-events/{id}': READ,
  'POST /v1/alert-events/{id}/mute': [A, C],
  'POST /v1/alert-events/{id}/unmute': [A, C],
  'GET /v1/notifications': READ,
  'POST /v1/notifications/{id}/retry': [A, C],
};

const concrete = (path: string) =>
  path.replace('/v1/controls/{id}', '/v1/controls/CC6.1').replace('/v1/audit-log/{id}', '/v1/audit-log/1').replace('{id}', '01900000-0000-7000-8000-000000000000').replace('{column}', 'ssn').replace('{channelId}', '01900000-0000-7000-8000-000000000001');

t.test('every route is in the matrix, and the matrix names only real routes', async (t) => {
  const api = await testApp(t);
  const spec = api.app.swagger() as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(spec.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
  t.same(documented.sort(), Object.keys(MATRIX).sort());
});

t.test('each role gets exactly its rights on every route', async (t) => {
  const api = await testApp(t);
  for (const [route, allowed] of Object.entries(MATRIX)) {
    const [method, path] = route.split(' ') as [string, string];
    const url = concrete(path);
    const body = method === 'POST' || method === 'PATCH' ? {} : undefined;
    const anonymous = await api.call(method, url, { as: null, body });
    if (allowed === 'public') {
      t.equal(anonymous.status, 200, `${route} is public`);
      continue;
    }
    t.equal(anonymous.status, 401, `${route} without a key`);
    for (const role of ROLES) {
      const response = await api.call(method, url, { as: role, body });
      if (allowed.includes(role)) {
        t.notOk([401, 403].includes(response.status), `${route} allowed for ${role} (got ${response.status})`);
      } else {
        t.equal(response.status, 403, `${route} refused to ${role}`);
        t.equal(response.body.type, '/problems/forbidden');
      }
    }
  }
});

t.test('docs are served without a key', async (t) => {
  const api = await testApp(t);
  const json = await api.call('GET', '/docs/json', { as: null });
  t.equal(json.status, 200);
  t.equal(json.body.openapi, '3.0.3');
  const ui = await api.call('GET', '/docs', { as: null });
  t.ok([200, 302].includes(ui.status));
  // Every route documents its request and response schemas.
  for (const [path, methods] of Object.entries(json.body.paths as Record<string, Record<string, any>>)) {
    for (const [method, operation] of Object.entries(methods)) {
      t.ok(['200', '201', '202', '204'].some((code) => operation.responses?.[code]), `${method} ${path} documents its success response`);
      if ((method === 'post' || method === 'patch') && !/\/(activate|retry|verify|checkpoints|sync)$/.test(path)) t.ok(operation.requestBody, `${method} ${path} documents its body`);
    }
  }
});
