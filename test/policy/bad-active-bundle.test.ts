import { createHash } from 'node:crypto';
import pg from 'pg';
import t from 'tap';
import { v7 as uuidv7 } from 'uuid';
import { loadDemoData } from '../../src/demo/load.js';
import { testApp, waitFor } from '../helpers/app.js';

/**
 * Fail closed on a bad active bundle: when the bundle the database says is active cannot be loaded
 * (corrupt, does not compile or answer), no instance keeps deciding with the previous engine under a
 * revision that is no longer active. Access is denied naming the engine's state, a batch answers
 * 503, policy decisions and evaluations fail, /readyz is not ready; a bundle that loads restores it.
 * The corrupt row is written the way the database owner could, behind the API's back.
 */

const MARKET = 'arn:aws:iam::111122223333:role/market-data';
const CHECK = { principal: MARKET, action: 'select', resource: { store: 'aurora', database: 'wealth', table: 'securities_master' }, purpose: 'reporting' };

t.test('a corrupt active bundle: deny, 503 and not ready, never the previous revision', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  t.equal((await api.call('POST', '/v1/principals', { as: 'steward', body: { arn: MARKET, name: 'market-data', kind: 'service', team: 'investments' } })).status, 201);
  await api.app.policy.reloadAccessData();
  const good = await api.app.db('policy_bundles').where({ active: true }).first();
  const allowed = await api.call('POST', '/v1/access/decisions', { as: 'pipeline', body: CHECK });
  t.match(allowed.body, { decision: 'allow', bundle_revision: good.revision }, 'allowed while the active bundle is loaded');
  t.equal((await api.call('GET', '/readyz')).status, 200);

  // The database owner makes a corrupt archive the active bundle.
  const owner = new pg.Client({ connectionString: api.databaseUrl });
  await owner.connect();
  t.teardown(() => owner.end());
  const archive = Buffer.from('this is not a gzip archive');
  const corruptId = uuidv7();
  await owner.query('BEGIN');
  await owner.query('UPDATE policy_bundles SET active = false WHERE active');
  await owner.query(
    `INSERT INTO policy_bundles (id, revision, sha256, archive, size_bytes, entrypoints, rules, uploaded_by, active, activated_at, activated_by)
     VALUES ($1, 'corrupt', $2, $3, $4, $5, '[]', 'owner', true, now(), 'owner')`,
    [corruptId, createHash('sha256').update(archive).digest('hex'), archive, archive.length, JSON.stringify(['custos/access/decision', 'custos/compliance/rules', 'custos/compliance/violations'])],
  );
  await owner.query('COMMIT');
  await api.app.policy.sync();

  const denied = await api.call('POST', '/v1/access/decisions', { as: 'pipeline', body: CHECK });
  t.equal(denied.status, 200);
  t.match(denied.body, { decision: 'deny', bundle_revision: null, reasons: [{ code: 'engine_unavailable', message: new RegExp(`the active policy bundle ${corruptId} could not be loaded`) }], grants: [] });
  t.not(denied.body.bundle_revision, good.revision, 'nothing decided under the revision that is no longer active');
  const batch = await api.call('POST', '/v1/access/decisions:batch', { as: 'pipeline', body: { checks: [CHECK] } });
  t.equal(batch.status, 503);
  const policyDecision = await api.call('POST', '/v1/decisions', { as: 'pipeline', body: { entrypoint: 'custos/compliance/rules', input: {} } });
  t.equal(policyDecision.status, 503);
  t.match(policyDecision.body, { type: '/problems/policy-engine-unavailable', detail: /could not be loaded/ });
  const ready = await api.call('GET', '/readyz');
  t.equal(ready.status, 503);
  t.match(ready.body.checks.policy, { ok: false, detail: new RegExp(`the active policy bundle ${corruptId} could not be loaded`) });

  // An evaluation fails rather than report under the old revision.
  const run = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot: { observed_at: '2026-11-20T06:00:00.000Z', resources: [], findings: [], lake_formation: { permissions: [] } } } });
  t.equal(run.status, 201);
  const evaluation = await waitFor(async () => {
    const list = await api.call('GET', `/v1/evaluations?collection_id=${run.body.id}`);
    return list.body.items.find((e: { status: string }) => ['complete', 'failed'].includes(e.status));
  }, 'evaluation');
  t.match(evaluation, { status: 'failed', error: /could not be loaded/, bundle_revision: null });

  // The good bundle active again: decisions resume with it.
  await owner.query('BEGIN');
  await owner.query('UPDATE policy_bundles SET active = false WHERE active');
  await owner.query('UPDATE policy_bundles SET active = true WHERE id = $1', [good.id]);
  await owner.query('COMMIT');
  await api.app.policy.sync();
  t.match((await api.call('POST', '/v1/access/decisions', { as: 'pipeline', body: CHECK })).body, { decision: 'allow', bundle_revision: good.revision });
  t.equal((await api.call('GET', '/readyz')).status, 200);
});

t.test('no active bundle at all: nothing decides', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  const owner = new pg.Client({ connectionString: api.databaseUrl });
  await owner.connect();
  t.teardown(() => owner.end());
  await owner.query('UPDATE policy_bundles SET active = false WHERE active');
  await api.app.policy.sync();
  const denied = await api.call('POST', '/v1/access/decisions', { as: 'pipeline', body: CHECK });
  t.match(denied.body, { decision: 'deny', reasons: [{ code: 'engine_unavailable', message: /no policy bundle is active/ }] });
  t.match((await api.call('GET', '/readyz')).body, { status: 'not_ready', checks: { policy: { ok: false, detail: 'no policy bundle is active' } } });
});
