/**
 * The real service in a child process is killed with SIGKILL in the middle of an execution and
 * started again on the same database: the execution resumes (the start-up sweep finds it with no
 * job holding its lock), and no bucket gets PutPublicAccessBlock twice. Execution is made slow with
 * CUSTOS_REMEDIATION_STEP_DELAY_MS, a test-only pause before each AWS change.
 */
import t from 'tap';
import { startInstance, type Instance } from '../helpers/instances.js';
import { ADMIN_KEY, freshDatabaseUrl, tempDir, waitFor } from '../helpers/app.js';
import { startFaultyProxy } from '../helpers/faulty-proxy.js';
import { MOTO_ACCOUNT, motoSkip, startMoto } from '../helpers/moto.js';
import { publicBuckets, REGION } from './helpers.js';

const BUCKETS = ['crash-a', 'crash-b', 'crash-c', 'crash-d', 'crash-e', 'crash-f'];

t.test('SIGKILL during execution: on restart the job resumes and nothing is applied twice', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  await publicBuckets(moto.endpoint, BUCKETS);
  const puts: Record<string, number> = {};
  const proxy = await startFaultyProxy(t, moto.endpoint, {
    match: ({ method, url }) => {
      if (method === 'PUT' && url.includes('publicAccessBlock')) {
        const bucket = url.slice(1).split(/[/?]/)[0]!;
        puts[bucket] = (puts[bucket] ?? 0) + 1;
      }
      return false;
    },
  });
  const env = {
    DATABASE_URL: await freshDatabaseUrl(),
    CUSTOS_DATA_DIR: await tempDir(),
    CUSTOS_ADMIN_KEY: ADMIN_KEY,
    AWS_ENDPOINT_URL: proxy.endpoint,
    AWS_REGION: REGION,
    CUSTOS_AWS_MAX_ATTEMPTS: '2',
    CUSTOS_REMEDIATION_STEP_DELAY_MS: '600',
  };
  // Each start binds a port of its own (the instance names it): `base` follows the running one.
  let base = '';
  const call = async (method: string, url: string, body?: unknown, key = ADMIN_KEY) => {
    const response = await fetch(`${base}${url}`, { method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: response.status, body: await response.json() };
  };
  const start = async (): Promise<Instance> => {
    const server = await startInstance(env, 60_000);
    t.teardown(() => void server.child.kill('SIGKILL'));
    base = server.base;
    return server;
  };

  const first = await start();
  const officer = (await call('POST', '/v1/api-keys', { role: 'compliance_officer', name: 'officer-one' })).body.key;
  const approver = (await call('POST', '/v1/api-keys', { role: 'compliance_officer', name: 'officer-two' })).body.key;
  t.equal((await call('POST', '/v1/sources', { name: 'crash-s3', account_id: MOTO_ACCOUNT, region: REGION, services: ['s3'] })).status, 201);
  const run = (await call('POST', '/v1/collections', {})).body;
  await waitFor(async () => (await call('GET', `/v1/evaluations?collection_id=${run.id}`)).body.items.find((e: { status: string }) => e.status === 'complete'), 'evaluation', 60_000);

  const planned = await call('POST', '/v1/remediations', { rule_id: 's3.bucket_public_read', resource_ids: BUCKETS }, officer);
  t.equal(planned.status, 201, JSON.stringify(planned.body));
  const id = planned.body.id;
  t.equal((await call('POST', `/v1/remediations/${id}/approve`, {}, approver)).status, 200);
  t.equal((await call('POST', `/v1/remediations/${id}/execute`, {}, officer)).status, 202);

  // Kill the service once some, not all, buckets are done.
  const atKill = await waitFor(async () => {
    const r = (await call('GET', `/v1/remediations/${id}`)).body;
    return r.steps.filter((s: { step: string; status: string }) => s.step === 'apply' && s.status === 'succeeded').length >= 2 ? r : undefined;
  }, 'two buckets applied', 60_000);
  first.child.kill('SIGKILL');
  await first.exited;
  const appliedBeforeKill = Object.keys(puts).length;
  t.equal(atKill.status, 'executing');
  t.ok(appliedBeforeKill >= 2 && appliedBeforeKill < BUCKETS.length, `killed mid-way (${appliedBeforeKill} of ${BUCKETS.length} buckets had a PUT)`);

  // Restart on the same database: the execution resumes and completes.
  await start();
  const done = await waitFor(async () => {
    const r = (await call('GET', `/v1/remediations/${id}`)).body;
    return ['verified', 'partially_applied', 'failed'].includes(r.status) ? r : undefined;
  }, 'the resumed execution', 90_000);
  t.equal(done.status, 'verified', JSON.stringify(done.resources.map((r: { resource_id: string; status: string; error: string }) => [r.resource_id, r.status, r.error])));
  t.same(Object.keys(puts).sort(), BUCKETS, 'every bucket was applied');
  t.ok(Object.values(puts).every((n) => n === 1), `no bucket got PutPublicAccessBlock twice: ${JSON.stringify(puts)}`);
  const applySteps = done.steps.filter((s: { step: string }) => s.step === 'apply');
  t.equal(applySteps.length, BUCKETS.length, 'one apply step per bucket (idempotency key per resource and step)');
  t.ok(applySteps.every((s: { status: string }) => s.status === 'succeeded'));
  const audit = (await call('GET', `/v1/audit-log?entity=remediations&entity_id=${id}&action=apply&limit=100`)).body.items;
  t.equal(audit.length, BUCKETS.length, 'one apply in the audit log per bucket');
});
