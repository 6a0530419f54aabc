import t from 'tap';
import { buildApp } from '../../src/app.js';
import { loadDemoData } from '../../src/demo/load.js';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { CatalogEvaluator } from '../../src/evaluation/catalog-evaluation.js';
import { ADMIN_KEY, approvePending, evaluateSnapshot, tempDir, testApp, waitFor, type TestApp } from '../helpers/app.js';

/**
 * Issue 11, fresh verdicts: a catalog change re-evaluates the catalog rules at once. Every check
 * below reads findings and controls right after the change's answer, with nobody asking for an
 * evaluation; on the old code the new findings appeared only at the next evaluation of a run.
 */

const ACCOUNT = '111122223333';
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

async function estate(t: Parameters<typeof testApp>[0]) {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  const evaluation = await evaluateSnapshot(api, wealthEstate);
  const clients = (await api.call('GET', '/v1/assets?store=aurora&database=wealth&table=clients')).body.items[0];
  return { api, evaluation, clients };
}

const findings = async (api: TestApp, query: string) => (await api.call('GET', `/v1/findings?limit=500&${query}`, { as: 'auditor' })).body.items as Array<Record<string, any>>;
const catalogEvaluations = async (api: TestApp) => (await api.call('GET', '/v1/evaluations?limit=500', { as: 'auditor' })).body.items.filter((e: { trigger: string }) => e.trigger === 'catalog');
const etag = async (api: TestApp, id: string) => (await api.call('GET', `/v1/assets/${id}`)).headers.etag as string;
const patchColumn = async (api: TestApp, id: string, column: string, body: unknown) =>
  api.call('PATCH', `/v1/assets/${id}/columns/${column}`, { as: 'steward', body, headers: { 'if-match': await etag(api, id) } });

t.test('a column made restricted: the critical findings and the control status are there in the next read', async (t) => {
  const { api, clients } = await estate(t);
  const before = await findings(api, 'rule_id=lakeformation.restricted_column_grant&status=open');
  t.same(before.map((f) => f.resource_id).sort(), [`${role('analytics-etl')}:wealth.clients.ssn`, `${role('data-science')}:wealth.clients.date_of_birth`, `${role('data-science')}:wealth.clients.ssn`]);
  const cc63 = (await api.call('GET', '/v1/controls/CC6.3', { as: 'auditor' })).body;
  const awsOpen = (await findings(api, 'status=open')).filter((f) => !f.resource_type.startsWith('Custos::') && f.rule_id !== 'lakeformation.restricted_column_grant');
  t.ok(awsOpen.length > 0);

  // Raising protection applies at once (no second person needed).
  const raised = await patchColumn(api, clients.id, 'marital_status', { classification: 'restricted' });
  t.equal(raised.status, 200, JSON.stringify(raised.body));

  const after = await findings(api, 'rule_id=lakeformation.restricted_column_grant&status=open');
  const added = after.filter((f) => f.resource_id.endsWith('wealth.clients.marital_status'));
  t.same(added.map((f) => f.resource_id).sort(), [`${role('analytics-etl')}:wealth.clients.marital_status`, `${role('data-science')}:wealth.clients.marital_status`], 'both principals that can SELECT it');
  t.ok(added.length > 0 && added.every((f) => f.severity === 'critical'));
  const [evaluation] = await catalogEvaluations(api);
  t.match(evaluation, { status: 'complete', trigger: 'catalog', requested_by: 'system:catalog', counts: { new: 2, resolved: 0 } });
  t.equal(added[0]!.first_evaluation_id, evaluation.id);

  // The control it fails says so now, from the catalog evaluation.
  const control = (await api.call('GET', '/v1/controls/CC6.3', { as: 'auditor' })).body;
  t.match(control, { status: 'failing', evaluation_id: evaluation.id });
  t.equal(control.open_findings, cc63.open_findings + 2);
  t.same(control.reasons.failing_rules.find((r: { rule_id: string }) => r.rule_id === 'lakeformation.restricted_column_grant'), { rule_id: 'lakeformation.restricted_column_grant', open_findings: 5 });
  t.ok(control.failing_findings.some((f: { resource_id: string }) => f.resource_id.endsWith('marital_status')));

  // AWS findings the catalog evaluation did not look at are carried, never resolved.
  const stillOpen = (await findings(api, 'status=open')).filter((f) => !f.resource_type.startsWith('Custos::') && f.rule_id !== 'lakeformation.restricted_column_grant');
  t.same(stillOpen.map((f) => f.id).sort(), awsOpen.map((f) => f.id).sort(), 'every AWS finding still open');
});

t.test('a masking rule removed and a PII flag removed, each applied when a second person approves', async (t) => {
  const { api, clients } = await estate(t);
  const ssn = 'aurora/wealth/clients.ssn';
  const firstName = 'aurora/wealth/clients.first_name';
  t.same((await findings(api, `rule_id=catalog.pii_masking&resource_id=${ssn}`)).length, 0, 'ssn is masked');
  t.match(await findings(api, `rule_id=catalog.pii_masking&resource_id=${firstName}`), [{ status: 'open' }], 'first_name holds PII unmasked');

  // Removing the masking rule lowers protection: pending until approved, and no finding before.
  const unmask = await patchColumn(api, clients.id, 'ssn', { masking_rule: null });
  t.equal(unmask.status, 202);
  t.same(await findings(api, `rule_id=catalog.pii_masking&resource_id=${ssn}`), [], 'a proposal changes nothing');
  await approvePending(api, unmask);
  const unmasked = await findings(api, `rule_id=catalog.pii_masking&resource_id=${ssn}`);
  t.match(unmasked, [{ status: 'open', severity: 'high', controls: ['C1.1', 'CC6.1'] }], 'the approval is evaluated before it answers');
  const c11 = (await api.call('GET', '/v1/controls/C1.1', { as: 'auditor' })).body;
  t.ok(c11.failing_findings.some((f: { resource_id: string }) => f.resource_id === ssn), 'and C1.1 fails on it');

  // Removing the PII flag: the catalog finding it raised resolves at once (the catalog is read whole).
  const unflag = await patchColumn(api, clients.id, 'first_name', { pii_type: null });
  t.equal(unflag.status, 202);
  await approvePending(api, unflag);
  const [resolved] = await findings(api, `rule_id=catalog.pii_masking&resource_id=${firstName}`);
  t.match(resolved, { status: 'resolved' });
  t.ok(resolved!.resolved_at);
});

t.test('a catalog evaluation never resolves an AWS finding: unrestricting a column waits for a run', async (t) => {
  const { api, clients, evaluation: first } = await estate(t);
  const ssnGrants = `rule_id=lakeformation.restricted_column_grant&status=open`;
  t.equal((await findings(api, ssnGrants)).filter((f) => f.resource_id.endsWith('.ssn')).length, 2);

  const lowered = await patchColumn(api, clients.id, 'ssn', { classification: 'confidential' });
  t.equal(lowered.status, 202);
  await approvePending(api, lowered);
  const [catalog] = await catalogEvaluations(api);
  t.match(catalog, { status: 'complete', counts: { resolved: 0 } });
  const still = (await findings(api, ssnGrants)).filter((f) => f.resource_id.endsWith('.ssn'));
  t.equal(still.length, 2, 'the permissions were judged by a run; only a run clears them');

  // The next evaluation of a complete run (here: the same run again) resolves them.
  const again = await api.call('POST', '/v1/evaluations', { as: 'compliance_officer', body: { collection_id: first.run_id } });
  await waitFor(async () => ((await api.call('GET', `/v1/evaluations/${again.body.id}`)).body.status === 'complete' ? true : undefined), 'evaluation of the run');
  t.equal((await findings(api, ssnGrants)).filter((f) => f.resource_id.endsWith('.ssn')).length, 0);
});

t.test('changes coalesce: concurrent changes share evaluations, and each waiting caller is covered', async (t) => {
  const { api, clients } = await estate(t);
  // Each column of one asset would conflict on its version: one change per column, on distinct assets where possible.
  const assets = (await api.call('GET', '/v1/assets?store=aurora&database=wealth&limit=50')).body.items as Array<{ id: string; columns: Array<{ name: string; classification: string }> }>;
  const targets = assets.map((a) => ({ id: a.id, column: a.columns.find((c) => c.classification !== 'restricted')?.name })).filter((x): x is { id: string; column: string } => Boolean(x.column));
  t.ok(targets.length >= 6, `${targets.length} assets with an unrestricted column`);
  const changes = targets.slice(0, 8);
  const answers = await Promise.all(changes.map((c) => patchColumn(api, c.id, c.column, { classification: 'restricted' })));
  t.same(answers.map((a) => a.status), changes.map(() => 200));
  const evaluations = await catalogEvaluations(api);
  t.ok(evaluations.length >= 1 && evaluations.length < changes.length, `${changes.length} changes, ${evaluations.length} catalog evaluations`);
  t.equal(Number((await api.app.db('catalog_evaluation_requests').count('* as n').first())!.n), 0, 'every request covered');
  // The last evaluation read every change: wealth.clients.<column> is restricted and reported for its grantees.
  const latest = (await api.app.db('evaluations').where({ status: 'complete' }).orderBy('finished_at', 'desc').first())!;
  t.equal(latest.trigger, 'catalog');
  const clientsChange = changes.find((c) => c.id === clients.id);
  if (clientsChange) t.ok((await findings(api, 'rule_id=lakeformation.restricted_column_grant&status=open')).some((f) => f.resource_id.endsWith(`wealth.clients.${clientsChange.column}`)));

  // In one process, however many callers ask while one runs, one more evaluation at most follows.
  await api.app.db('asset_columns').where({ asset_id: clients.id, name: 'first_name' }).update({ masking_rule: 'redact' });
  await api.app.db('catalog_evaluation_requests').insert(Array.from({ length: 20 }, () => ({ entity: 'assets' })));
  const evaluator = new CatalogEvaluator(api.app.db, api.app.policy, api.app.log);
  const before = (await catalogEvaluations(api)).length;
  await Promise.all(Array.from({ length: 20 }, () => evaluator.evaluate()));
  t.equal((await catalogEvaluations(api)).length, before + 1, '20 requests, 20 callers: one evaluation');
  t.equal(Number((await api.app.db('catalog_evaluation_requests').count('* as n').first())!.n), 0);

  // A request for a catalog that is already evaluated (same catalog, same bundle) adds no evaluation.
  await api.app.db('catalog_evaluation_requests').insert({ entity: 'assets' });
  await evaluator.evaluate();
  t.equal((await catalogEvaluations(api)).length, before + 1, 'nothing changed: nothing evaluated');
  t.equal(Number((await api.app.db('catalog_evaluation_requests').count('* as n').first())!.n), 0);
});

t.test('durable: a change whose process died before evaluating it is evaluated when an instance starts', async (t) => {
  const { api, clients } = await estate(t);
  // What a change leaves when its process dies right after the commit: the change and its request.
  await api.app.db.transaction(async (trx) => {
    await trx('asset_columns').where({ asset_id: clients.id, name: 'marital_status' }).update({ classification: 'restricted' });
    await trx('catalog_evaluation_requests').insert({ entity: 'assets' });
  });
  t.equal((await findings(api, 'rule_id=lakeformation.restricted_column_grant&status=open')).filter((f) => f.resource_id.endsWith('marital_status')).length, 0);
  const other = await buildApp({ config: { databaseUrl: api.databaseUrl, dataDir: await tempDir(), logLevel: 'silent', adminKey: ADMIN_KEY }, announce: () => {} });
  t.teardown(() => other.close());
  const found = await waitFor(async () => {
    const open = (await findings(api, 'rule_id=lakeformation.restricted_column_grant&status=open')).filter((f) => f.resource_id.endsWith('marital_status'));
    return open.length === 2 ? open : undefined;
  }, 'the start sweep', 30_000);
  t.equal(found.length, 2);
  t.equal(Number((await api.app.db('catalog_evaluation_requests').count('* as n').first())!.n), 0);
});

t.test('a catalog change committed while a run is evaluated is evaluated after it, not lost', async (t) => {
  const { api, clients } = await estate(t);
  // The run's evaluation read the catalog before the change; the change's request is pending when it commits.
  const { catalogInput } = await import('../../src/evaluation/catalog-input.js');
  const { settleCatalogRequests } = await import('../../src/evaluation/catalog-requests.js');
  const { sha256 } = await catalogInput(api.app.db);
  await api.app.db('asset_columns').where({ asset_id: clients.id, name: 'marital_status' }).update({ classification: 'restricted' });
  const current = async () => (await catalogInput(api.app.db)).sha256;
  const requested = await api.app.db.transaction((trx) => settleCatalogRequests(trx, sha256, current));
  t.equal(requested, true, 'the catalog changed under the evaluation: a catalog evaluation is requested');
  await api.app.jobs.catalog.evaluate();
  t.equal((await findings(api, 'rule_id=lakeformation.restricted_column_grant&status=open')).filter((f) => f.resource_id.endsWith('marital_status')).length, 2);
  // An evaluation that read the current catalog settles the requests without one.
  await api.app.db('catalog_evaluation_requests').insert({ entity: 'assets' });
  t.equal(await api.app.db.transaction(async (trx) => settleCatalogRequests(trx, await current(), current)), false);
  t.equal(Number((await api.app.db('catalog_evaluation_requests').count('* as n').first())!.n), 0);
});
