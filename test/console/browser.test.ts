import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import yazl from 'yazl';
import { readZip } from '../../src/evidence/verify-export.js';
import { consoleRoot } from '../../src/console/routes.js';
import { mapGroup, testApp, type TestApp } from '../helpers/app.js';
import { shippedAsRevision } from '../helpers/bundles.js';
import { startIdp, type TestIdp } from '../helpers/oidc.js';

// End-to-end journeys in a real browser (Debian's Chromium, driven by playwright-core) against the
// real service on embedded PostgreSQL, signing in through a real OIDC provider. Screenshots of every
// page visited go to test-artifacts/console/ (gitignored).
const CHROMIUM = process.env.CUSTOS_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI runs the browser tests (apt-get install -y chromium)`);
  t.plan(0, `skipped: no browser at ${CHROMIUM} (apt-get install -y chromium, or set CUSTOS_CHROMIUM)`);
  process.exit(0);
}

const { chromium } = await import('playwright-core');
type Browser = Awaited<ReturnType<typeof chromium.launch>>;
type Page = Awaited<ReturnType<Browser['newPage']>>;

const ARTIFACTS = path.resolve('test-artifacts', 'console');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const USERS = {
  stella: { sub: 'idp|stella', email: 'stella@bank.example', name: 'Stella Steward', groups: ['data-stewards'] },
  omar: { sub: 'idp|omar', email: 'omar@bank.example', name: 'Omar Officer', groups: ['compliance'] },
  olga: { sub: 'idp|olga', email: 'olga@bank.example', name: 'Olga Officer', groups: ['compliance'] },
  aude: { sub: 'idp|aude', email: 'aude@bank.example', name: 'Aude Auditor', groups: ['auditors'] },
  // The demo's Client domain names this identity as its steward: the IdP's subject is that identity.
  cleo: { sub: 'client-data.steward@bank.example', email: 'client-data.steward@bank.example', name: 'Cleo Client-Data Steward', groups: ['data-stewards'] },
  adam: { sub: 'idp|adam', email: 'adam@bank.example', name: 'Adam Admin', groups: ['platform-admins'] },
};

interface World {
  api: TestApp;
  idp: TestIdp;
  base: string;
  browser: Browser;
}

let world: Promise<World> | undefined;

/** One service (demo estate loaded), one IdP and one browser for the file's journeys. */
function setup(_test: Test): Promise<World> {
  // Torn down with the file (the root test), not with the first journey that asked for it.
  world ??= (async () => {
    const root = consoleRoot();
    await promisify(execFile)(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn', '--config', 'web/vite.config.ts'], { cwd: path.resolve(root, '..', '..') });
    const idp = await startIdp(t);
    for (const [login, user] of Object.entries(USERS)) idp.users.set(login, user);
    const api = await testApp(t, { demo: true, config: { oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, rolesClaim: 'groups' } } });
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    idp.register(`${base}/auth/callback`);
    for (const [group, role] of [['data-stewards', 'steward'], ['compliance', 'compliance_officer'], ['auditors', 'auditor'], ['platform-admins', 'admin']] as const) {
      await mapGroup(api, group, role);
    }
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    t.teardown(() => browser.close());
    await fs.mkdir(ARTIFACTS, { recursive: true });
    return { api, idp, base, browser };
  })();
  return world;
}

const cspViolations = new WeakMap<Page, string[]>();

/** A person's own browser context, signed in through the IdP's login form. */
async function signIn(w: World, login: keyof typeof USERS): Promise<Page> {
  const context = await w.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // Chromium reports what the Content-Security-Policy blocked on the console; check() wants none.
  const blocked: string[] = [];
  page.on('console', (message) => void (/Content Security Policy/i.test(message.text()) && blocked.push(message.text())));
  cspViolations.set(page, blocked);
  await page.goto(`${w.base}/`);
  await page.getByRole('link', { name: 'Sign in with SSO' }).click();
  await page.getByLabel('User name').fill(login);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

/** No serious or critical axe-core violation on the page as it is now; saves a screenshot. */
async function check(t: Test, page: Page, name: string) {
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  t.same(cspViolations.get(page) ?? [], [], `${name}: nothing blocked by the console's Content-Security-Policy`);
  // Evaluated through the DevTools protocol: an inline <script> tag is (rightly) refused by the CSP.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await (window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }> } }).axe.run();
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
  t.same(violations, [], `${name}: no serious or critical accessibility violation`);
}

async function open(page: Page, label: string) {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: label }).click();
  await page.getByRole('heading', { level: 1, name: label }).waitFor();
}

t.test('a steward signs in, classifies a column inline, and meets a stale edit that names who changed it', async (t) => {
  const w = await setup(t);
  const page = await signIn(w, 'stella');
  await check(t, page, 'steward-overview');
  await open(page, 'Catalog');
  const first = page.getByRole('table').first().getByRole('button').first();
  const assetName = (await first.textContent())!;
  await first.click();
  const select = page.locator('select[aria-label^="Classification of"]').first();
  const column = (await select.getAttribute('aria-label'))!.replace('Classification of ', '');
  const target = (await select.inputValue()) === 'internal' ? 'confidential' : 'internal';
  await select.selectOption(target);
  await page.getByRole('status').filter({ hasText: `${column} is now ${target}` }).waitFor();
  await check(t, page, 'steward-catalog');

  // Someone else changes the asset meanwhile (an admin key): the steward's next edit is stale.
  const id = (await w.api.call('GET', '/v1/assets?limit=500')).body.items.find((a: { store: string; database: string; table: string }) => `${a.store}:${a.database}.${a.table}` === assetName).id;
  const current = await w.api.call('GET', `/v1/assets/${id}`);
  const other = await w.api.call('PATCH', `/v1/assets/${id}/columns/${column}`, { body: { description: 'changed elsewhere' }, headers: { 'if-match': current.headers.etag } });
  t.equal(other.status, 200);
  await select.selectOption(target === 'internal' ? 'confidential' : 'internal');
  const alert = page.getByRole('alert');
  await alert.waitFor();
  t.match(await alert.textContent(), /Someone else changed this asset: .*last changed by \S+ at \d{4}-/);
  await check(t, page, 'steward-stale-edit');
  await page.getByRole('button', { name: 'Reload the asset' }).click();
  await page.getByRole('heading', { name: `${current.body.database}.${current.body.table} (version ${current.body.version + 1})` }).waitFor();
  t.equal(await page.getByRole('alert').count(), 0, 'reloaded: the conflict is gone');
  const audit = await w.api.app.db('audit_log').where({ entity: 'assets', actor_subject: 'idp|stella' }).first();
  t.match(audit, { actor_email: 'stella@bank.example', role: 'steward' }, 'the change is audited with the person');
  await page.context().close();
});

t.test('a steward lowers a classification (a pending change) that she may not approve herself and a compliance officer approves in the console', async (t) => {
  const w = await setup(t);
  // An asset on the console's first page (not the first, which the journey above edits) with a protected column.
  const assets = (await w.api.call('GET', '/v1/assets?limit=20')).body.items as Array<{ id: string; store: string; database: string; table: string; columns: Array<{ name: string; classification: string }> }>;
  const asset = assets.slice(1).find((a) => a.columns.some((c) => c.classification !== 'public'))!;
  const column = asset.columns.find((c) => c.classification !== 'public')!;
  const stella = await signIn(w, 'stella');
  await open(stella, 'Catalog');
  await stella.getByRole('button', { name: `${asset.store}:${asset.database}.${asset.table}` }).click();
  await stella.getByLabel(`Classification of ${column.name}`, { exact: true }).selectOption('public');
  await stella.getByRole('status').filter({ hasText: `${column.name} → public lowers protection` }).waitFor();
  const summary = `change column ${column.name} of ${asset.store}:${asset.database}.${asset.table}`;
  const pending = await w.api.app.db('pending_changes').where({ summary, status: 'pending' }).first();
  t.match(pending, { proposer_subject: 'idp|stella', kind: 'assets.update_column' }, 'the lowering waits as a pending change (202)');
  t.match(await stella.getByRole('row').filter({ hasText: summary }).textContent(), new RegExp(`classification lowered from ${column.classification} to public.*You proposed it`));
  // The proposer may not approve: the console shows the API's refusal.
  await stella.getByRole('button', { name: `Approve: ${summary}` }).click();
  await stella.getByRole('alert').filter({ hasText: 'proposed this change and may not approve it' }).waitFor();
  await check(t, stella, 'steward-pending-change');
  t.equal((await w.api.app.db('pending_changes').where({ id: pending.id }).first()).status, 'pending', 'still pending');

  const olga = await signIn(w, 'olga');
  await open(olga, 'Approvals');
  await olga.getByLabel(`Note on: ${summary}`).fill('Column holds no client data: checked with the data owner');
  await olga.getByRole('button', { name: `Approve: ${summary}` }).click();
  await olga.getByRole('status').filter({ hasText: `Change approved and applied: ${summary}` }).waitFor();
  await check(t, olga, 'officer-approvals');
  t.match(await w.api.app.db('pending_changes').where({ id: pending.id }).first(), { status: 'applied', decider_subject: 'idp|olga', decision_note: /no client data/ }, 'approved by a second person, by identity');
  const after = (await w.api.call('GET', `/v1/assets/${asset.id}`)).body as { columns: Array<{ name: string; classification: string }> };
  t.equal(after.columns.find((c) => c.name === column.name)!.classification, 'public', 'applied on approval');
  await stella.context().close();
  await olga.context().close();
});

t.test('a compliance officer triages a finding and requests an exception that a second officer approves', async (t) => {
  const w = await setup(t);
  const omar = await signIn(w, 'omar');
  await open(omar, 'Findings');
  await omar.getByRole('combobox', { name: 'Group by' }).selectOption('rule_id');
  await omar.getByRole('combobox', { name: /^Severity/ }).selectOption('high');
  const finding = omar.locator('main table tbody tr button').first();
  await finding.waitFor();
  await check(t, omar, 'officer-findings');
  await finding.click();
  await omar.getByLabel('Justification').fill('Legacy bucket, migration planned for next quarter');
  await omar.getByLabel('Compensating control').fill('Bucket policy denies public access');
  await omar.getByRole('button', { name: 'Request exception' }).click();
  await omar.getByRole('status').filter({ hasText: 'Exception requested' }).waitFor();
  await omar.getByRole('button', { name: 'Plan a remediation' }).click();
  // The demo estate has no AWS behind it, and this finding's rule names no action: the console shows
  // the service's refusal. (Planning against AWS and its before/after diff is not driven here.)
  await omar.getByRole('alert').filter({ hasText: 'names no remediation action' }).waitFor();
  await check(t, omar, 'officer-triage');

  // Omar may not approve his own request: the console shows the refusal.
  await omar.getByRole('button', { name: 'Approve' }).first().click();
  await omar.getByRole('alert').filter({ hasText: /requested this exception/ }).waitFor();

  const olga = await signIn(w, 'olga');
  await open(olga, 'Findings');
  await olga.getByRole('button', { name: 'Approve' }).first().click();
  await olga.getByRole('status').filter({ hasText: 'Exception approved' }).waitFor();
  await check(t, olga, 'second-officer-approved');
  const approved = await w.api.app.db('exceptions').where({ status: 'approved' }).first();
  t.match(approved, { requester_subject: 'idp|omar', decider_subject: 'idp|olga' }, 'four eyes by identity');
  await omar.context().close();
  await olga.context().close();
});

t.test('a compliance officer opens a manual control and attests it with a file', async (t) => {
  const w = await setup(t);
  const manual = (await w.api.call('GET', '/v1/controls?automation=manual&limit=500')).body.items[0] as { id: string; title: string };
  t.ok(manual, 'the demo catalog has a manual control');
  const omar = await signIn(w, 'omar');
  await open(omar, 'Controls');
  await omar.getByRole('link', { name: manual.id, exact: true }).click();
  await omar.getByRole('heading', { level: 2, name: `${manual.id} ${manual.title}` }).waitFor();
  await omar.getByRole('heading', { name: 'Tested by' }).waitFor();
  const form = omar.getByRole('form', { name: `Attest ${manual.id}` });
  await form.getByLabel('Statement').fill('Quarterly access review done with the data owners; minutes attached');
  const minutes = Buffer.from('Access review minutes\nAll 14 grants reviewed, 2 revoked.\n');
  await form.getByLabel('Files').setInputFiles({ name: 'review-minutes.txt', mimeType: 'text/plain', buffer: minutes });
  await form.getByRole('button', { name: 'Attest' }).click();
  await omar.getByRole('status').filter({ hasText: `Attested ${manual.id} with 1 file` }).waitFor();
  await omar.getByRole('link', { name: 'review-minutes.txt' }).waitFor();
  await check(t, omar, 'officer-control-attested');
  const attestation = await w.api.app.db('attestations').where({ control_id: manual.id }).orderBy('attested_at', 'desc').first();
  t.match(attestation, { attested_by: 'omar@bank.example' }, 'attested by the person');
  const file = await w.api.app.db('attestation_files').where({ attestation_id: attestation.id }).first();
  t.equal(file.sha256, createHash('sha256').update(minutes).digest('hex'), 'the file arrives byte for byte');
  t.ok(await w.api.app.db('evidence_items').where({ id: attestation.evidence_item_id, kind: 'attestation' }).first(), 'and is in the evidence chain');
  await omar.context().close();
});

t.test('an auditor exports a period and verifies it in the browser', async (t) => {
  const w = await setup(t);
  const page = await signIn(w, 'aude');
  await open(page, 'Evidence');
  await page.getByRole('button', { name: 'Export', exact: true }).click();
  await page.getByRole('link', { name: /Download/ }).waitFor({ timeout: 120_000 });
  await page.getByRole('button', { name: 'Verify this export' }).click();
  const verdict = page.getByRole('status').filter({ hasText: /Verified|Not verified/ });
  await verdict.waitFor({ timeout: 60_000 });
  t.match(await verdict.textContent(), /^Verified: signature valid; (\d+) of \1 files match/);
  await check(t, page, 'auditor-evidence-verified');

  // A zip whose evidence was changed after export is refused: one file rewritten, the manifest kept.
  const exported = await w.api.app.inject({ method: 'GET', url: '/v1/evidence/export', headers: { authorization: `Bearer ${w.api.keys.auditor}` } });
  const entries = await readZip(exported.rawPayload);
  const changed = [...entries.keys()].find((p) => p.endsWith('.json') && p !== 'manifest.json')!;
  const zip = new yazl.ZipFile();
  for (const [name, bytes] of entries) zip.addBuffer(name === changed ? Buffer.concat([bytes, Buffer.from(' ')]) : bytes, name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  await page.getByLabel('Export zip').setInputFiles({ name: 'tampered.zip', mimeType: 'application/zip', buffer: Buffer.concat(chunks) });
  const refused = page.getByRole('status').filter({ hasText: 'Not verified' });
  await refused.waitFor();
  t.match(await refused.textContent(), new RegExp(`${changed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: SHA-256 differs`));
  await check(t, page, 'auditor-tampered');
  await page.context().close();
});

t.test('an admin creates an API key and maps a group to a role', async (t) => {
  const w = await setup(t);
  const page = await signIn(w, 'adam');
  await check(t, page, 'admin-overview');
  await open(page, 'Administration');
  const keyForm = page.getByRole('form', { name: 'Create an API key' });
  await keyForm.getByLabel('Name').fill('lakehouse-pipeline');
  await keyForm.getByLabel('Role').selectOption('pipeline');
  await keyForm.getByRole('button', { name: 'Create key' }).click();
  const shown = page.getByRole('status').filter({ hasText: 'lakehouse-pipeline' });
  await shown.waitFor();
  const key = (await shown.locator('code').textContent())!;
  const works = await fetch(`${w.base}/v1/session`, { headers: { authorization: `Bearer ${key}` } });
  t.match(await works.json(), { role: 'pipeline' }, 'the key shown once works');

  const mapForm = page.getByRole('form', { name: 'Map a group to a role' });
  await mapForm.getByLabel('Group').fill('risk-analysts');
  await mapForm.getByLabel('Role').selectOption('auditor');
  await mapForm.getByRole('button', { name: 'Map group' }).click();
  await page.getByRole('status').filter({ hasText: 'Mapping of risk-analysts to auditor proposed: a second admin approves it' }).waitFor();
  await check(t, page, 'admin-administration');
  const proposed = await w.api.app.db('pending_changes').where({ kind: 'role-mappings.create', proposer_subject: 'idp|adam', status: 'pending' }).first();
  t.match(proposed?.payload, { group: 'risk-analysts', role: 'auditor' }, 'a pending change proposed by the admin, for a second admin');
  const audit = await w.api.app.db('audit_log').where({ entity: 'pending-changes', action: 'propose', actor_subject: 'idp|adam' }).first();
  t.ok(audit, 'audited with the admin');
  for (const label of ['Controls', 'Access', 'Policies', 'Approvals']) {
    await open(page, label);
    await check(t, page, `admin-${label.toLowerCase()}`);
  }

  // The decision explorer asks as a pipeline would; the answer is in the decision log, which replays it.
  const principal = 'arn:aws:iam::123456789012:role/reporting-pipeline';
  t.equal((await w.api.call('POST', '/v1/principals', { body: { arn: principal, name: 'reporting-pipeline', kind: 'pipeline' } })).status, 201);
  const asset = (await w.api.call('GET', '/v1/assets?limit=1')).body.items[0] as { store: string; database: string; table: string };
  await open(page, 'Access');
  const ask = page.getByRole('form', { name: 'Ask for an access decision' });
  await ask.getByLabel('Principal').fill(principal);
  await ask.getByLabel('Store').selectOption(asset.store);
  await ask.getByLabel('Database').fill(asset.database);
  await ask.getByLabel('Table').fill(asset.table);
  await ask.getByLabel('Purpose').fill('reporting');
  await ask.getByRole('button', { name: 'Ask' }).click();
  const decision = page.getByRole('status', { name: 'Decision' });
  await decision.waitFor();
  t.match(await decision.textContent(), /^(allow|deny) \(bundle \S+, decision [0-9a-f-]{36}\)/, 'the answer with its revision and logged id');
  await check(t, page, 'admin-access-decision');
  await open(page, 'Policies');
  await page.getByRole('button', { name: /^Replay decision / }).first().click();
  const replay = page.getByRole('region', { name: 'Replay' });
  await replay.waitFor();
  t.match(await replay.textContent(), /The active bundle \S+ answers (as|differently)/, 'replayed with the active bundle');
  await check(t, page, 'admin-policies-replay');

  // Live progress of a collection run. The demo estate has no AWS account to collect from, so the
  // test stands in for the collector: it writes the run's progress as the collector does, and the
  // console, polling GET /v1/collections/:id, shows each step without a reload.
  const runId = '01936f0d-0000-7000-8000-00000000c0de';
  await w.api.app.db('collection_runs').insert({ id: runId, status: 'running', trigger: 'api', requested_by: 'adam@bank.example', started_at: new Date(), progress: JSON.stringify({ done: 1, total: 3, current: 'lakeformation' }) });
  await open(page, 'Administration');
  await page.getByText('1 of 3, now lakeformation').waitFor();
  await check(t, page, 'admin-collection-running');
  await w.api.app.db('collection_runs').where({ id: runId }).update({ progress: JSON.stringify({ done: 2, total: 3, current: 'securityhub' }) });
  await page.getByText('2 of 3, now securityhub').waitFor({ timeout: 10_000 });
  await w.api.app.db('collection_runs').where({ id: runId }).update({ status: 'failed', error: 'stand-in run ended by the test', finished_at: new Date(), progress: JSON.stringify({ done: 3, total: 3 }) });
  const finished = page.getByRole('row').filter({ hasText: 'failed: stand-in run ended by the test' });
  await finished.waitFor({ timeout: 10_000 });
  t.match(await finished.textContent(), /3 of 3/, 'the finished run shows its last progress');
  await page.context().close();
});

t.test('a steward requests access that she may not approve herself and the steward of the owning domain approves', async (t) => {
  const w = await setup(t);
  const principal = 'arn:aws:iam::123456789012:role/kyc-refresh';
  t.equal((await w.api.call('POST', '/v1/principals', { body: { arn: principal, name: 'kyc-refresh', kind: 'pipeline' } })).status, 201);
  const assets = (await w.api.call('GET', '/v1/assets?limit=500')).body.items as Array<{ store: string; database: string; table: string; domain: string }>;
  const asset = assets.find((a) => a.domain === 'Client')!;
  const stella = await signIn(w, 'stella');
  await open(stella, 'Access');
  const form = stella.getByRole('form', { name: 'Request access to a table' });
  await form.getByLabel('Principal').fill(principal);
  await form.getByLabel('Store').selectOption(asset.store);
  await form.getByLabel('Database').fill(asset.database);
  await form.getByLabel('Table').fill(asset.table);
  await form.getByLabel('Purpose').fill('yearly KYC refresh');
  await form.getByRole('button', { name: 'Request SELECT' }).click();
  await stella.getByRole('status').filter({ hasText: `Access requested for ${principal}` }).waitFor();
  const scope = `${asset.store}:${asset.database}.${asset.table}`;
  await stella.getByRole('button', { name: `Approve the request of ${principal} for ${scope}` }).click();
  await stella.getByRole('alert').filter({ hasText: 'made this request and may not approve it' }).waitFor();
  await check(t, stella, 'steward-access-request');

  const cleo = await signIn(w, 'cleo');
  await open(cleo, 'Access');
  await cleo.getByLabel(`Comment on the request of ${principal} for ${scope}`).fill('KYC team, yearly refresh');
  await cleo.getByRole('button', { name: `Approve the request of ${principal} for ${scope}` }).click();
  await cleo.getByRole('status').filter({ hasText: `Request of ${principal} approved` }).waitFor();
  await cleo.getByRole('region', { name: 'Grants' }).getByRole('cell', { name: principal }).first().waitFor();
  await check(t, cleo, 'domain-steward-access-approved');
  t.match(await w.api.app.db('access_requests').where({ principal }).first(), { status: 'approved', requester_subject: 'idp|stella', decider_subject: 'client-data.steward@bank.example', decision_comment: 'KYC team, yearly refresh' }, 'decided by the domain steward, by identity');
  t.ok(await w.api.app.db('access_grants').where({ principal }).first(), 'the approval made a grant');
  await stella.context().close();
  await cleo.context().close();
});

// Last: it changes the active bundle (to the same rules under another revision).
t.test('a compliance officer weighs a candidate bundle and proposes its activation, which a second officer approves', async (t) => {
  const w = await setup(t);
  const uploaded = await w.api.call('POST', '/v1/policy-bundles', { as: 'compliance_officer', body: await shippedAsRevision('console-candidate'), headers: { 'content-type': 'application/gzip' } });
  t.equal(uploaded.status, 201);
  const omar = await signIn(w, 'omar');
  await open(omar, 'Policies');
  await omar.getByRole('button', { name: 'Impact of console-candidate' }).click();
  const impact = omar.getByRole('region', { name: 'Impact of console-candidate' });
  await impact.waitFor({ timeout: 120_000 });
  // The same rules under another revision: nothing would change, and the console says so in numbers.
  t.match(await impact.textContent(), /0 would appear, 0 would disappear, [1-9]\d* unchanged.*0 would flip/);
  await check(t, omar, 'officer-policies-impact');
  await omar.getByRole('button', { name: 'Activate console-candidate' }).click();
  await omar.getByRole('status').filter({ hasText: 'Activation of console-candidate proposed' }).waitFor();
  const approve = { name: /^Approve: activate policy bundle console-candidate/ };
  await omar.getByRole('button', approve).click();
  await omar.getByRole('alert').filter({ hasText: 'proposed this change and may not approve it' }).waitFor();
  t.not((await w.api.app.db('policy_bundles').where({ active: true }).first()).revision, 'console-candidate', 'not active before a second person approves');

  const olga = await signIn(w, 'olga');
  await open(olga, 'Policies');
  await olga.getByRole('button', approve).click();
  await olga.getByRole('status').filter({ hasText: 'Change approved and applied: activate policy bundle console-candidate' }).waitFor();
  await olga.getByRole('row').filter({ hasText: 'console-candidate' }).getByRole('cell', { name: /^active since/ }).waitFor();
  await check(t, olga, 'second-officer-activated-bundle');
  t.match(await w.api.app.db('pending_changes').where({ kind: 'policy-bundles.activate', decider_subject: 'idp|olga' }).first(), { status: 'applied', proposer_subject: 'idp|omar' }, 'four eyes by identity');
  t.equal((await w.api.app.db('policy_bundles').where({ active: true }).first()).revision, 'console-candidate');
  await omar.context().close();
  await olga.context().close();
});
