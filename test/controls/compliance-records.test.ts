import t from 'tap';
import { create, testApp, type Response } from '../helpers/app.js';

const fieldsOf = (response: Response) => [...new Set<string>((response.body.errors ?? []).map((e: { field: string }) => e.field))].sort();
const record = (requirement_id: string, extra: Record<string, unknown> = {}) => ({
  regulation: 'SOC2',
  requirement_id,
  status: 'compliant',
  responsible_party: 'ciso@bank.example',
  ...extra,
});

t.test('compliance records', async (t) => {
  const api = await testApp(t);
  const count = async () => (await api.app.db('compliance_records').count('* as n').first())!.n;

  t.test('create, read, update, delete', async (t) => {
    const created = await api.call('POST', '/v1/compliance-records', {
      as: 'compliance_officer',
      body: record('CC6.1', { title: 'Logical access', last_review_date: '2025-01-15', next_review_date: '2025-04-15', status: 'partially_compliant' }),
    });
    t.equal(created.status, 201);
    t.equal(created.headers.location, `/v1/compliance-records/${created.body.id}`);
    t.match(created.body, {
      regulation: 'SOC2',
      requirement_id: 'CC6.1',
      title: 'Logical access',
      status: 'partially_compliant',
      last_review_date: '2025-01-15',
      next_review_date: '2025-04-15',
      responsible_party: 'ciso@bank.example',
      notes: '',
      version: 1,
    });
    const minimal = await create(api, '/v1/compliance-records', record('CC7.2'), 'compliance_officer');
    t.match(minimal, { title: '', notes: '', last_review_date: null, next_review_date: null });

    const read = await api.call('GET', `/v1/compliance-records/${created.body.id}`, { as: 'auditor' });
    t.same(read.body, created.body, 'dates come back as the dates stored');

    const reviewed = await api.call('PATCH', `/v1/compliance-records/${created.body.id}`, {
      as: 'compliance_officer',
      body: { status: 'compliant', last_review_date: '2025-04-10', next_review_date: '2025-07-10', notes: 'MFA rolled out' },
      headers: { 'if-match': '"1"' },
    });
    t.equal(reviewed.status, 200);
    t.match(reviewed.body, { status: 'compliant', last_review_date: '2025-04-10', next_review_date: '2025-07-10', notes: 'MFA rolled out', title: 'Logical access', version: 2 });
    const cleared = await api.call('PATCH', `/v1/compliance-records/${created.body.id}`, { as: 'compliance_officer', body: { next_review_date: null }, headers: { 'if-match': '"2"' } });
    t.match(cleared.body, { last_review_date: '2025-04-10', next_review_date: null, version: 3 });

    const audited = await api.call('GET', `/v1/audit-log?entity=compliance-records&entity_id=${created.body.id}`, { as: 'auditor' });
    t.same(audited.body.items.map((e: { action: string }) => e.action), ['update', 'update', 'create'], 'every change audited, newest first');

    const deleted = await api.call('DELETE', `/v1/compliance-records/${minimal.id}`, { as: 'compliance_officer' });
    t.equal(deleted.status, 204);
    t.equal((await api.call('GET', `/v1/compliance-records/${minimal.id}`)).status, 404);
  });

  t.test('dates are real dates and reviews follow each other', async (t) => {
    const before = await count();
    const backwards = await api.call('POST', '/v1/compliance-records', {
      as: 'compliance_officer',
      body: record('CC8.1', { last_review_date: '2025-06-01', next_review_date: '2025-05-31' }),
    });
    t.equal(backwards.status, 400);
    t.equal(backwards.body.type, '/problems/validation-error');
    t.same(backwards.body.errors, [{ location: 'body', field: 'next_review_date', message: 'must not be before last_review_date (2025-06-01)' }]);
    const acrossYears = await api.call('POST', '/v1/compliance-records', {
      as: 'compliance_officer',
      body: record('CC8.1', { last_review_date: '2025-01-01', next_review_date: '2024-12-31' }),
    });
    t.equal(acrossYears.status, 400);
    t.same(fieldsOf(acrossYears), ['next_review_date']);

    for (const [field, value] of [
      ['next_review_date', '2026-13-45'],
      ['next_review_date', '2026-02-30'],
      ['last_review_date', '2025-1-5'],
      ['last_review_date', '15/01/2025'],
      ['next_review_date', '2025-04-15T00:00:00Z'],
    ] as const) {
      const bad = await api.call('POST', '/v1/compliance-records', { as: 'compliance_officer', body: record('CC8.1', { [field]: value }) });
      t.equal(bad.status, 400, `${field} ${value}: 400`);
      t.same(fieldsOf(bad), [field]);
    }
    const badStatus = await api.call('POST', '/v1/compliance-records', { as: 'compliance_officer', body: record('CC8.1', { status: 'done' }) });
    t.equal(badStatus.status, 400);
    t.same(fieldsOf(badStatus), ['status']);
    t.equal(await count(), before, 'nothing stored');

    const sameDay = await api.call('POST', '/v1/compliance-records', {
      as: 'compliance_officer',
      body: record('CC8.1', { last_review_date: '2025-06-01', next_review_date: '2025-06-01' }),
    });
    t.equal(sameDay.status, 201, 'the next review may be the same day');
    const onlyNext = await api.call('POST', '/v1/compliance-records', { as: 'compliance_officer', body: record('CC9.1', { next_review_date: '2020-01-01' }) });
    t.equal(onlyNext.status, 201, 'one date alone has nothing to follow');

    // A PATCH of one date is checked against the stored other one.
    const id = sameDay.body.id;
    const nextTooEarly = await api.call('PATCH', `/v1/compliance-records/${id}`, { as: 'compliance_officer', body: { next_review_date: '2025-05-01' }, headers: { 'if-match': '"1"' } });
    t.equal(nextTooEarly.status, 400);
    t.same(nextTooEarly.body.errors, [{ location: 'body', field: 'next_review_date', message: 'must not be before last_review_date (2025-06-01)' }]);
    const lastTooLate = await api.call('PATCH', `/v1/compliance-records/${id}`, { as: 'compliance_officer', body: { last_review_date: '2025-07-01' }, headers: { 'if-match': '"1"' } });
    t.equal(lastTooLate.status, 400);
    t.same(fieldsOf(lastTooLate), ['next_review_date']);
    const badDate = await api.call('PATCH', `/v1/compliance-records/${id}`, { as: 'compliance_officer', body: { last_review_date: '2026-13-45' }, headers: { 'if-match': '"1"' } });
    t.equal(badDate.status, 400);
    t.same(fieldsOf(badDate), ['last_review_date']);
    t.match((await api.call('GET', `/v1/compliance-records/${id}`)).body, { last_review_date: '2025-06-01', next_review_date: '2025-06-01', version: 1 }, 'unchanged');

    const both = await api.call('PATCH', `/v1/compliance-records/${id}`, {
      as: 'compliance_officer',
      body: { last_review_date: '2025-07-01', next_review_date: '2025-10-01' },
      headers: { 'if-match': '"1"' },
    });
    t.equal(both.status, 200, 'moving both together is fine');
    t.match(both.body, { last_review_date: '2025-07-01', next_review_date: '2025-10-01', version: 2 });
  });

  t.test('one record per regulation and requirement', async (t) => {
    const duplicate = await api.call('POST', '/v1/compliance-records', { as: 'compliance_officer', body: record('CC6.1', { status: 'not_assessed' }) });
    t.equal(duplicate.status, 409);
    t.equal(duplicate.body.type, '/problems/duplicate');
    t.match(duplicate.body.detail, /regulation, requirement_id/);
    t.equal((await api.call('GET', '/v1/compliance-records?regulation=SOC2&requirement_id=CC6.1')).body.items.length, 1);
    const otherRegulation = await api.call('POST', '/v1/compliance-records', { as: 'compliance_officer', body: record('CC6.1', { regulation: 'ISO27001' }) });
    t.equal(otherRegulation.status, 201, 'the same requirement id under another regulation');
  });

  t.test('roles', async (t) => {
    const before = await count();
    for (const role of ['steward', 'auditor', 'pipeline'] as const) {
      const post = await api.call('POST', '/v1/compliance-records', { as: role, body: record('A.5.1', { regulation: 'ISO27001' }) });
      t.equal(post.status, 403, `${role} cannot create`);
      t.equal(post.body.type, '/problems/forbidden');
    }
    const target = (await api.call('GET', '/v1/compliance-records?regulation=SOC2&requirement_id=CC6.1')).body.items[0];
    const stewardPatch = await api.call('PATCH', `/v1/compliance-records/${target.id}`, { as: 'steward', body: { status: 'non_compliant' }, headers: { 'if-match': `"${target.version}"` } });
    t.equal(stewardPatch.status, 403);
    const auditorPatch = await api.call('PATCH', `/v1/compliance-records/${target.id}`, { as: 'auditor', body: { status: 'non_compliant' }, headers: { 'if-match': `"${target.version}"` } });
    t.equal(auditorPatch.status, 403);
    const auditorDelete = await api.call('DELETE', `/v1/compliance-records/${target.id}`, { as: 'auditor' });
    t.equal(auditorDelete.status, 403);
    t.equal(await count(), before);
    t.same((await api.call('GET', `/v1/compliance-records/${target.id}`)).body, target, 'untouched');

    const auditorList = await api.call('GET', '/v1/compliance-records', { as: 'auditor' });
    t.equal(auditorList.status, 200);
    t.equal(auditorList.body.items.length, before);
    t.equal((await api.call('GET', `/v1/compliance-records/${target.id}`, { as: 'auditor' })).status, 200);
    t.equal((await api.call('GET', '/v1/compliance-records', { as: 'steward' })).status, 200, 'stewards read');
    t.equal((await api.call('GET', '/v1/compliance-records', { as: 'pipeline' })).status, 403);
  });
});

t.test('reviews coming due', async (t) => {
  const api = await testApp(t);
  const due: Record<string, string | null> = {
    'R-1': '2025-03-31',
    'R-2': '2025-01-15',
    'R-3': null,
    'R-4': '2025-06-30',
    'R-5': '2025-03-31',
    'R-6': '2025-02-28',
    'R-7': '2025-04-01',
  };
  const ids: Record<string, string> = {};
  for (const [requirement_id, next_review_date] of Object.entries(due)) {
    ids[requirement_id] = (await create(api, '/v1/compliance-records', record(requirement_id, { regulation: 'GLBA', next_review_date }))).id;
  }
  const requirementsOf = (response: Response) => response.body.items.map((r: { requirement_id: string }) => r.requirement_id);

  const byMarch = await api.call('GET', '/v1/compliance-records?due_before=2025-03-31', { as: 'auditor' });
  t.equal(byMarch.status, 200);
  t.same(requirementsOf(byMarch), ['R-2', 'R-6', 'R-1', 'R-5'], 'due on or before the date, soonest first, ties in creation order; no undated record');
  t.same(byMarch.body.items.map((r: { next_review_date: string }) => r.next_review_date), ['2025-01-15', '2025-02-28', '2025-03-31', '2025-03-31']);
  t.equal(byMarch.body.next_cursor, null);

  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: Response = await api.call('GET', `/v1/compliance-records?due_before=2025-12-31&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
    t.equal(page.status, 200, `page ${pages + 1}`);
    t.ok(page.body.items.length <= 1);
    seen.push(...requirementsOf(page));
    cursor = page.body.next_cursor;
    pages++;
  } while (cursor && pages < 20);
  t.same(seen, ['R-2', 'R-6', 'R-1', 'R-5', 'R-7', 'R-4'], 'limit=1 walks every due record once, in due order');
  t.equal(pages, 6);

  t.same(requirementsOf(await api.call('GET', '/v1/compliance-records?due_before=2025-01-14')), [], 'nothing due yet');
  t.same(requirementsOf(await api.call('GET', '/v1/compliance-records?due_before=2025-01-15')), ['R-2'], 'inclusive');
  t.same(requirementsOf(await api.call('GET', '/v1/compliance-records')), ['R-1', 'R-2', 'R-3', 'R-4', 'R-5', 'R-6', 'R-7'], 'without due_before: creation order');

  await api.call('PATCH', `/v1/compliance-records/${ids['R-4']}`, { as: 'compliance_officer', body: { status: 'non_compliant' }, headers: { 'if-match': '"1"' } });
  t.same(requirementsOf(await api.call('GET', '/v1/compliance-records?due_before=2025-12-31&status=non_compliant')), ['R-4'], 'combines with other filters');

  for (const value of ['2026-13-45', 'tomorrow', '2025-03-31T00:00:00Z']) {
    const bad = await api.call('GET', `/v1/compliance-records?due_before=${value}`);
    t.equal(bad.status, 400, `due_before=${value}: 400`);
    t.match(bad.body.errors, [{ location: 'querystring', field: 'due_before' }]);
  }
  const foreignCursor = await api.call('GET', '/v1/compliance-records?limit=1');
  const mixed = await api.call('GET', `/v1/compliance-records?due_before=2025-12-31&cursor=${foreignCursor.body.next_cursor}`);
  t.equal(mixed.status, 400, 'a cursor from the unfiltered list does not fit the due order');
  t.match(mixed.body.errors, [{ field: 'cursor' }]);
});
