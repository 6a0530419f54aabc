/**
 * When a finding was last seen, and by which evaluation, live in `finding_sightings` (migration 037):
 * carrying a verdict over updates that narrow row, not the finding's. Every finding has exactly one
 * sighting, whichever path inserted it; the API and the evidence export show it as before.
 */
import t from 'tap';
import { changeResources, syntheticEstate, type EstateSizes } from '../../bench/synthetic-estate.js';
import { loadDemoData } from '../../src/demo/load.js';
import { createEvaluation, runEvaluation } from '../../src/evaluation/evaluate.js';
import { raiseFinding } from '../../src/evaluation/findings-repository.js';
import { importSnapshot } from '../../src/sources/collections.js';
import { testApp } from '../helpers/app.js';

const context = { actor: 'test', actorKeyId: null, role: 'system' };
const SIZES: EstateSizes = { resources: 1_200, findings: 600, permissions: 200, accounts: 3, regions: 2 };

t.test('an incremental evaluation carries its verdicts over in the sightings, leaving the findings rows as they were', async (t) => {
  const api = await testApp(t, { workers: false });
  const { db, policy } = api.app;
  await loadDemoData(db);
  const estate = syntheticEstate(SIZES);
  const first = await importSnapshot(db, estate, { trigger: 'file', context });
  const base = await runEvaluation(db, policy, (await createEvaluation(db, { runId: first.id, trigger: 'api', requestedBy: 'test' })).id);
  // Each finding's row version (xmin changes whenever PostgreSQL writes a new version of the row).
  const versions = new Map((await db('findings').select('id', 'status', db.raw('xmin::text AS version'))).map((r) => [r.id, r]));
  const second = await importSnapshot(db, changeResources(estate, 0.01, SIZES), { trigger: 'file', context });
  const again = await runEvaluation(db, policy, (await createEvaluation(db, { runId: second.id, trigger: 'api', requestedBy: 'test' })).id);
  t.equal(again.mode, 'incremental');
  t.ok(Number(again.counts.reused_violations) > 100, `verdicts carried over (${again.counts.reused_violations})`);
  const currentVersions = new Map((await db('findings').select('id', db.raw('xmin::text AS version'))).map((r) => [r.id, r.version]));

  const carried = await db('evaluation_findings as ef')
    .join('evaluation_findings as before', (j) => j.on('before.finding_id', 'ef.finding_id').andOn('before.evaluation_id', db.raw('?', [base.id])))
    .join('finding_sightings as s', 's.finding_id', 'ef.finding_id')
    .join('findings as f', 'f.id', 'ef.finding_id')
    .where({ 'ef.evaluation_id': again.id, 'ef.reported': true, 'before.reported': true, 'f.status': 'open' })
    .select('f.id', 's.last_evaluation_id', 's.last_seen_at');
  t.ok(carried.length > 100, `findings reported by both evaluations and open (${carried.length})`);
  t.same([...new Set(carried.map((f) => f.last_evaluation_id))], [again.id], 'each one was last seen by the new evaluation');
  t.same([...new Set(carried.map((f) => new Date(f.last_seen_at).toISOString()))], [new Date(second.observed_at!).toISOString()], 'at the new run');
  // Carried over (not reported afresh), most of them kept their own row: only the sighting was written.
  const untouched = carried.filter((f) => versions.get(f.id)?.status === 'open' && versions.get(f.id)?.version === currentVersions.get(f.id));
  t.ok(untouched.length >= Number(again.counts.reused_violations) * 0.9, `${untouched.length} of ${again.counts.reused_violations} carried verdicts left their finding's row as it was`);

  const counts = await db.raw(`SELECT (SELECT count(*) FROM findings)::int AS findings, (SELECT count(*) FROM finding_sightings)::int AS sightings,
    (SELECT count(*) FROM findings f WHERE NOT EXISTS (SELECT 1 FROM finding_sightings s WHERE s.finding_id = f.id))::int AS without`);
  t.same(counts.rows[0], { findings: counts.rows[0].sightings, sightings: counts.rows[0].findings, without: 0 }, 'one sighting per finding');

  // The API shows the sighting.
  const sample = carried[0]!;
  const shown = await api.call('GET', `/v1/findings/${sample.id}`, { as: 'auditor' });
  t.equal(shown.status, 200);
  t.match(shown.body, { id: sample.id, last_evaluation_id: again.id, last_seen_at: new Date(second.observed_at!).toISOString() });
  const listed = await api.call('GET', `/v1/findings?evaluation_id=${again.id}&limit=5`, { as: 'auditor' });
  t.equal(listed.status, 200);
  t.ok(listed.body.items.length > 0 && listed.body.items.every((f: { last_evaluation_id: string }) => f.last_evaluation_id === again.id), 'listed with their sightings');
});

t.test('a finding raised outside an evaluation has a sighting from its insert; it goes with its finding (the runtime role may not delete one alone: test/security/db-roles.test.ts)', async (t) => {
  const api = await testApp(t, { workers: false });
  const { db } = api.app;
  const violation = {
    id: 'dq.not_null', severity: 'medium', controls: ['PI1.2'], msg: 'nulls found', rule: { id: 'dq.not_null', title: 'no nulls' },
    resource: { type: 'Custos::DataQuality::Rule', id: 'rule-1', account: 'custos', region: '' },
  } as unknown as Parameters<typeof raiseFinding>[1];
  const raised = await db.transaction((trx) => raiseFinding(trx, violation, '2026-11-20T06:00:00.000Z'));
  t.match(await db('finding_sightings').where({ finding_id: raised.id }).first(), { last_evaluation_id: null }, 'inserted with its finding, no evaluation');
  const again = await db.transaction((trx) => raiseFinding(trx, violation, '2026-11-21T06:00:00.000Z'));
  t.equal(again.id, raised.id);
  t.equal(new Date((await db('finding_sightings').where({ finding_id: raised.id }).first()).last_seen_at).toISOString(), '2026-11-21T06:00:00.000Z', 'raised again: last seen moves');
  t.equal(Number((await db('finding_sightings').where({ finding_id: raised.id }).count('* as n').first())!.n), 1, 'still one sighting');

  await db('findings').where({ id: raised.id }).delete();
  t.equal(Number((await db('finding_sightings').where({ finding_id: raised.id }).count('* as n').first())!.n), 0, 'deleting the finding deletes its sighting');
});
