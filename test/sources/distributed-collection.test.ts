/**
 * Issue 17, "Spread over several instances": three Custos instances (separate processes, the real
 * `src/server.ts`) on one PostgreSQL share a collection run of several accounts, regions and
 * services against moto. One instance is killed with SIGKILL while it holds units; the others
 * retry them once their attempt times out, and the run completes once: every unit done exactly
 * once, one finalisation, one evaluation, and the findings a single instance finds in the same estate.
 * The victim is slowed by its own AWS token bucket (one request a second per account and service)
 * so that it holds units long enough to be killed holding them.
 */
import t from 'tap';
import { createKnex } from '../../src/db/database.js';
import { ADMIN_KEY, freshDatabaseUrl, tempDir, testApp, waitFor } from '../helpers/app.js';
import { startInstance, stopInstance, type Instance } from '../helpers/instances.js';
import { MOTO_ACCOUNT, motoSkip, startMoto } from '../helpers/moto.js';
import { publicBuckets } from '../remediation/helpers.js';

const ACCOUNTS = [MOTO_ACCOUNT, '222222222222', '333333333333'];
const REGIONS = ['us-east-1', 'eu-west-1'];
const SERVICES = ['s3', 'iam', 'kms', 'ec2'];
const UNITS = ACCOUNTS.length * REGIONS.length * SERVICES.length;

const sources = () =>
  ACCOUNTS.flatMap((account, a) =>
    REGIONS.map((region) => ({
      name: `acct${a}-${region}`,
      account_id: account,
      region,
      services: SERVICES,
      // moto answers an assumed role with the role's account, like AWS, so each source reaches its own account.
      ...(account === MOTO_ACCOUNT ? {} : { role_arn: `arn:aws:iam::${account}:role/custos-collector` }),
    })),
  );

type Finding = { rule_id: string; resource_id: string; account: string; region: string; status: string };
const findingKeys = (items: Finding[]) => items.map((f) => `${f.rule_id}|${f.account}|${f.region}|${f.resource_id}`).sort();

t.test('three instances share a run; one is killed holding units; the run completes once with every unit done once', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  await publicBuckets(moto.endpoint, ['spread-public-a', 'spread-public-b']);

  const databaseUrl = await freshDatabaseUrl();
  const env = async (extra: Record<string, string> = {}) => ({
    DATABASE_URL: databaseUrl,
    CUSTOS_DATA_DIR: await tempDir(),
    CUSTOS_ADMIN_KEY: ADMIN_KEY,
    AWS_ENDPOINT_URL: moto.endpoint,
    CUSTOS_AWS_MAX_ATTEMPTS: '2',
    CUSTOS_POLICY_WORKERS: '1',
    CUSTOS_COLLECTION_CONCURRENCY: '2',
    // An attempt of a dead instance is retried 10 s after it started; pg-boss looks every 5 s.
    CUSTOS_COLLECTION_UNIT_TIMEOUT_SECONDS: '10',
    ...extra,
  });
  const instances: Instance[] = [];
  t.teardown(async () => {
    await Promise.all(instances.map((instance) => stopInstance(instance)));
  });
  // The first migrates the database; the other two start together.
  instances.push(await startInstance(await env()));
  instances.push(...(await Promise.all([startInstance(await env({ CUSTOS_AWS_REQUESTS_PER_SECOND: '1' })), startInstance(await env())])));
  const [first, victim] = instances as [Instance, Instance, Instance];
  const call = async (method: string, url: string, body?: unknown) => {
    const response = await first.call(method, url, ADMIN_KEY, body);
    if (response.status >= 300) throw new Error(`${method} ${url} → ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  };
  for (const source of sources()) await call('POST', '/v1/sources', source);

  // A database handle of the test's own, to watch the units as an operator would.
  const db = createKnex(databaseUrl);
  t.teardown(() => db.destroy());

  const started = await call('POST', '/v1/collections', {});
  const runId = started.id as string;
  const victimClaim = `%:${victim.child.pid}:%`;
  const held = await waitFor(async () => {
    const rows = await db('collection_units').where({ run_id: runId, status: 'running' }).whereLike('claimed_by', victimClaim).select('id', 'source_name', 'service');
    return rows.length > 0 ? rows : undefined;
  }, 'the slow instance holding units', 120_000);
  const progress = (await call('GET', `/v1/collections/${runId}`)).progress;
  t.ok(progress.running >= 1 && progress.total === UNITS, `progress while running: ${JSON.stringify(progress)}`);
  victim.child.kill('SIGKILL');
  await victim.exited;
  const heldIds = held.map((u: { id: string }) => u.id);
  t.pass(`killed the instance while it held ${held.map((u: { source_name: string; service: string }) => `${u.source_name}/${u.service}`).join(', ')}`);

  const run = await waitFor(async () => {
    const r = await call('GET', `/v1/collections/${runId}`);
    return ['complete', 'partial', 'failed'].includes(r.status) ? r : undefined;
  }, 'the run to finish without the killed instance', 240_000);
  t.equal(run.status, 'complete', JSON.stringify(run.gaps));
  t.same(run.gaps, []);
  t.equal(run.progress.done, UNITS, 'every unit done');
  t.match(run.progress, { total: UNITS, running: 0, queued: 0, failed: 0 });
  t.ok(run.progress.retried >= 1, `units retried: ${run.progress.retried}`);

  const units = await db('collection_units').where({ run_id: runId }).orderBy('position');
  t.equal(units.length, UNITS);
  t.ok(units.every((u) => u.status === 'done' && u.output && u.finished_at), 'each unit done, its output stored');
  for (const id of heldIds) {
    const unit = units.find((u) => u.id === id);
    t.ok(unit.attempts >= 2 && !unit.claimed_by.includes(`:${victim.child.pid}:`), `${unit.source_name}/${unit.service}: taken over (attempts ${unit.attempts}, done by ${unit.claimed_by})`);
  }
  t.ok(units.filter((u) => !heldIds.includes(u.id)).every((u) => u.attempts >= 1));
  t.equal(Object.keys(run.counts).length, UNITS, 'counts of every unit, once');

  // One finalisation: one set of collection evidence items, one evaluation.
  const evaluation = await waitFor(async () => (await call('GET', `/v1/evaluations?collection_id=${runId}`)).items.find((e: { status: string }) => ['complete', 'failed'].includes(e.status)), 'the evaluation', 240_000);
  t.equal(evaluation.status, 'complete');
  await new Promise((r) => setTimeout(r, 2000));
  t.equal((await call('GET', `/v1/evaluations?collection_id=${runId}`)).items.length, 1, 'evaluated once');
  const evidence = await db('evidence_items').where({ source_id: runId, kind: 'collection' }).select('control_id');
  t.equal(new Set(evidence.map((e) => e.control_id)).size, evidence.length, 'one collection evidence item per control: finalised once');
  const distributed = findingKeys((await call('GET', '/v1/findings?status=open&limit=500')).items);

  // The same estate collected by a single instance.
  const single = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 } });
  for (const source of sources()) t.equal((await single.call('POST', '/v1/sources', { body: source })).status, 201);
  const alone = (await single.call('POST', '/v1/collections', { body: {} })).body;
  const aloneRun = await waitFor(async () => {
    const r = (await single.call('GET', `/v1/collections/${alone.id}`)).body;
    return ['complete', 'partial', 'failed'].includes(r.status) ? r : undefined;
  }, 'the single-instance run', 240_000);
  t.equal(aloneRun.status, 'complete');
  await waitFor(async () => (await single.call('GET', `/v1/evaluations?collection_id=${alone.id}`)).body.items.find((e: { status: string }) => e.status === 'complete'), 'its evaluation', 240_000);
  const expected = findingKeys((await single.call('GET', '/v1/findings?status=open&limit=500')).body.items);
  t.ok(expected.length > 0, `${expected.length} open findings in the estate`);
  t.same(distributed, expected, 'the findings of the distributed run are those of a single instance');
  t.ok(distributed.some((k) => k.startsWith('s3.bucket_public_read|')), 'including the public buckets');
  t.equal(evidence.length, Number((await single.app.db('evidence_items').where({ source_id: alone.id, kind: 'collection' }).count('* as n').first())!.n), 'as many collection evidence items as a single instance writes');
});
