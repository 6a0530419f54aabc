import t from 'tap';
import { periodDays } from '../../src/catalog/retention-policies.js';
import { create, testApp, type Response } from '../helpers/app.js';

const fieldsOf = (response: Response) => (response.body.errors ?? []).map((e: { field: string }) => e.field).sort();

/**
 * The longest a period can last, in days, over every start month of a full 400-year Gregorian
 * cycle: what an expiration must be at least so that no record is deleted before its period ends.
 * (Starting on the 1st is the worst case; later days are clamped to shorter months.)
 */
function longestCalendarSpan(years: number, months: number, days: number): number {
  let longest = 0;
  for (let year = 2000; year < 2400; year++) {
    for (let month = 0; month < 12; month++) {
      const span = (Date.UTC(year + years, month + months, 1 + days) - Date.UTC(year, month, 1)) / 86_400_000;
      longest = Math.max(longest, span);
    }
  }
  return longest;
}

t.test('periodDays: the days of storage a period needs, leap years counted', async (t) => {
  t.equal(periodDays('P7Y'), 2557, 'P7Y: 7 × 365 + 2 leap days');
  t.equal(periodDays('P10Y'), 3653, 'P10Y: 10 × 365 + 3 leap days');
  t.equal(periodDays('P5Y'), 1827, 'P5Y: 5 × 365 + 2 leap days');
  t.equal(periodDays('P1Y'), 366);
  t.equal(periodDays('P90D'), 90);
  t.equal(periodDays('P1D'), 1);
  t.equal(periodDays('P1M'), 31);
  t.equal(periodDays('P12M'), 366, 'twelve months are a year');
  t.equal(periodDays('P0Y'), 0);
  t.equal(periodDays('P0D'), 0);
  t.equal(periodDays('P'), 0);
  t.equal(periodDays('seven years'), 0, 'not a period');
});

t.test('periodDays never undercuts the period, whatever day it starts', async (t) => {
  // An S3 expiration of periodDays(p) must not delete a record before p has elapsed. For 18 months
  // that is 550 days: a record written on 2023-07-01 must be kept until 2025-01-01.
  t.equal(longestCalendarSpan(0, 18, 0), 550, 'the oracle: 2023-07-01 → 2025-01-01');
  const cases: Array<[string, number, number, number]> = [
    ['P7Y', 7, 0, 0],
    ['P10Y', 10, 0, 0],
    ['P5Y', 5, 0, 0],
    ['P90D', 0, 0, 90],
    ['P1M', 0, 1, 0],
    ['P18M', 0, 18, 0],
    ['P6M', 0, 6, 0],
    ['P1Y6M', 1, 6, 0],
  ];
  for (const [period, years, months, days] of cases) {
    t.equal(periodDays(period), longestCalendarSpan(years, months, days), `${period}: the shortest storage that satisfies it`);
  }
});

t.test('retention policies over HTTP', async (t) => {
  const api = await testApp(t);

  const seeded = await api.call('GET', '/v1/retention-policies', { as: 'auditor' });
  t.equal(seeded.status, 200);
  t.same(
    seeded.body.items.map((p: { name: string; data_category: string; trigger_event: string; period: string; period_days: number }) => [
      p.name,
      p.data_category,
      p.trigger_event,
      p.period,
      p.period_days,
    ]),
    [
      ['client-data', 'client', 'account_closure', 'P7Y', 2557],
      ['transaction-data', 'transaction', 'transaction_date', 'P7Y', 2557],
      ['document-data', 'document', 'document_date', 'P10Y', 3653],
      ['audit-logs', 'audit_log', 'event_date', 'P5Y', 1827],
      ['performance-data', 'performance', 'record_creation', 'P10Y', 3653],
    ],
  );
  for (const policy of seeded.body.items) t.equal(policy.period_days, periodDays(policy.period), `${policy.name}: seeded days match periodDays`);

  const filtered = await api.call('GET', '/v1/retention-policies?trigger_event=document_date');
  t.same(filtered.body.items.map((p: { name: string }) => p.name), ['document-data']);
  const byCategory = await api.call('GET', '/v1/retention-policies?data_category=client');
  t.same(byCategory.body.items.map((p: { name: string }) => p.name), ['client-data']);

  t.test('the period must be a period of at least one day', async (t) => {
    const base = { name: 'marketing', data_category: 'marketing', trigger_event: 'record_creation' };
    const before = await api.app.db('retention_policies').count('* as n').first();
    for (const period of ['P0D', 'P0Y', 'P0Y0M0D', 'P']) {
      const zero = await api.call('POST', '/v1/retention-policies', { as: 'compliance_officer', body: { ...base, period } });
      t.equal(zero.status, 400, `${period} refused`);
      t.equal(zero.body.type, '/problems/validation-error');
      t.same(zero.body.errors, [{ location: 'body', field: 'period', message: 'must be at least one day, e.g. P7Y' }]);
    }
    for (const period of ['seven years', 'P7', '7Y', 'P1W', 'PT12H', 'P-1Y', 'p7y', 'P7Y ']) {
      const bad = await api.call('POST', '/v1/retention-policies', { as: 'compliance_officer', body: { ...base, period } });
      t.equal(bad.status, 400, `${JSON.stringify(period)} refused`);
      t.same(fieldsOf(bad), ['period']);
    }
    const badTrigger = await api.call('POST', '/v1/retention-policies', { as: 'compliance_officer', body: { ...base, period: 'P1Y', trigger_event: 'whenever' } });
    t.equal(badTrigger.status, 400);
    t.same(fieldsOf(badTrigger), ['trigger_event']);
    t.same(await api.app.db('retention_policies').count('* as n').first(), before, 'nothing stored');

    const steward = await api.call('POST', '/v1/retention-policies', { as: 'steward', body: { ...base, period: 'P90D' } });
    t.equal(steward.status, 403);
    const duplicate = await api.call('POST', '/v1/retention-policies', { as: 'compliance_officer', body: { ...base, name: 'client-data', period: 'P90D' } });
    t.equal(duplicate.status, 409);
    t.equal(duplicate.body.type, '/problems/duplicate');
  });

  t.test('period_days follows the period', async (t) => {
    const created = await create(
      api,
      '/v1/retention-policies',
      { name: 'call-recordings', data_category: 'communications', trigger_event: 'record_creation', period: 'P3Y' },
      'compliance_officer',
    );
    t.match(created, { name: 'call-recordings', period: 'P3Y', period_days: 1096, description: '', version: 1 });

    const shorter = await api.call('PATCH', `/v1/retention-policies/${created.id}`, { as: 'compliance_officer', body: { period: 'P90D' }, headers: { 'if-match': '"1"' } });
    t.equal(shorter.status, 200);
    t.match(shorter.body, { period: 'P90D', period_days: 90, version: 2 });

    const describeOnly = await api.call('PATCH', `/v1/retention-policies/${created.id}`, { as: 'compliance_officer', body: { description: 'MiFID II' }, headers: { 'if-match': '"2"' } });
    t.match(describeOnly.body, { period: 'P90D', period_days: 90, description: 'MiFID II', version: 3 });

    const longer = await api.call('PATCH', `/v1/retention-policies/${created.id}`, { as: 'compliance_officer', body: { period: 'P10Y' }, headers: { 'if-match': '"3"' } });
    t.match(longer.body, { period: 'P10Y', period_days: 3653, version: 4 });

    const zero = await api.call('PATCH', `/v1/retention-policies/${created.id}`, { as: 'compliance_officer', body: { period: 'P0D' }, headers: { 'if-match': '"4"' } });
    t.equal(zero.status, 400);
    t.same(fieldsOf(zero), ['period']);
    const stored = await api.app.db('retention_policies').where({ id: created.id }).first();
    t.match(stored, { period: 'P10Y', period_days: 3653, version: 4 }, 'the refused change left the row alone');
  });
});
