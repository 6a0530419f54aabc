import t from 'tap';
import { create, testApp } from '../helpers/app.js';

// The generic behaviour every metadata resource shares, exercised through domains.
const domain = (name: string) => ({ name, owner: 'owner@bank.example', steward: 'steward@bank.example', review_frequency: 'quarterly' });

t.test('create, read, update with ETag, delete', async (t) => {
  const api = await testApp(t);
  const created = await api.call('POST', '/v1/domains', { as: 'steward', body: domain('Client') });
  t.equal(created.status, 201);
  t.equal(created.headers.location, `/v1/domains/${created.body.id}`);
  t.equal(created.headers.etag, '"1"');
  t.match(created.body, { name: 'Client', version: 1, description: '' });

  const read = await api.call('GET', `/v1/domains/${created.body.id}`, { as: 'auditor' });
  t.equal(read.status, 200);
  t.same(read.body, created.body);
  const notModified = await api.call('GET', `/v1/domains/${created.body.id}`, { headers: { 'if-none-match': '"1"' } });
  t.equal(notModified.status, 304);

  const noIfMatch = await api.call('PATCH', `/v1/domains/${created.body.id}`, { as: 'steward', body: { owner: 'x@bank.example' } });
  t.equal(noIfMatch.status, 428);
  t.equal(noIfMatch.headers['content-type'], 'application/problem+json; charset=utf-8');

  // (A new owner or steward is a pending change: test/security/four-eyes.test.ts.)
  const updated = await api.call('PATCH', `/v1/domains/${created.body.id}`, { as: 'steward', body: { description: 'Client master data' }, headers: { 'if-match': '"1"' } });
  t.equal(updated.status, 200);
  t.equal(updated.headers.etag, '"2"');
  t.match(updated.body, { description: 'Client master data', steward: 'steward@bank.example', version: 2 });

  // A second steward still holding version 1 cannot overwrite the change.
  const stale = await api.call('PATCH', `/v1/domains/${created.body.id}`, { as: 'steward', body: { description: 'other' }, headers: { 'if-match': '"1"' } });
  t.equal(stale.status, 412);
  t.match(stale.body, { type: '/problems/precondition-failed', status: 412 });
  t.equal((await api.call('GET', `/v1/domains/${created.body.id}`)).body.description, 'Client master data');

  const staleDelete = await api.call('DELETE', `/v1/domains/${created.body.id}`, { as: 'steward', headers: { 'if-match': '"1"' } });
  t.equal(staleDelete.status, 412);
  const deleted = await api.call('DELETE', `/v1/domains/${created.body.id}`, { as: 'steward' });
  t.equal(deleted.status, 204);
  t.equal((await api.call('GET', `/v1/domains/${created.body.id}`)).status, 404);
});

t.test('errors are problem+json with the offending fields', async (t) => {
  const api = await testApp(t);
  const invalid = await api.call('POST', '/v1/domains', { body: { name: '', owner: 5, review_frequency: 'weekly', extra: true } });
  t.equal(invalid.status, 400);
  t.equal(invalid.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.match(invalid.body, { type: '/problems/validation-error', title: 'Bad Request', status: 400 });
  const fields = invalid.body.errors.map((e: { field: string }) => e.field).sort();
  t.same(fields, ['extra', 'name', 'owner', 'review_frequency', 'steward']);
  t.match(invalid.body.errors.find((e: { field: string }) => e.field === 'review_frequency'), {
    location: 'body',
    message: 'must be one of: monthly, quarterly, semi_annual, annual',
  });

  const malformed = await api.call('POST', '/v1/domains', { body: '{"name": ', headers: { 'content-type': 'application/json' } });
  t.equal(malformed.status, 400);
  t.equal(malformed.body.type, '/problems/malformed-body');

  const wrongType = await api.call('POST', '/v1/domains', { body: 'name=x', headers: { 'content-type': 'text/plain' } });
  t.equal(wrongType.status, 415);

  const huge = await api.call('POST', '/v1/domains', { body: { ...domain('Big'), description: 'x'.repeat(2 * 1024 * 1024) } });
  t.equal(huge.status, 413);
  t.equal(huge.body.type, '/problems/body-too-large');

  const badId = await api.call('GET', '/v1/domains/not-a-uuid');
  t.equal(badId.status, 400);
  t.match(badId.body.errors, [{ location: 'params', field: 'id' }]);

  const unknownId = await api.call('GET', '/v1/domains/01900000-0000-7000-8000-000000000000');
  t.equal(unknownId.status, 404);
  t.equal(unknownId.body.type, '/problems/not-found');

  const unknownFilter = await api.call('GET', '/v1/domains?ownr=x');
  t.equal(unknownFilter.status, 400);
  t.match(unknownFilter.body.errors, [{ location: 'querystring', field: 'ownr', message: 'is not a known field' }]);

  await create(api, '/v1/domains', domain('Client'));
  const duplicate = await api.call('POST', '/v1/domains', { body: domain('Client') });
  t.equal(duplicate.status, 409);
  t.equal(duplicate.body.type, '/problems/duplicate');
  t.match(duplicate.body.detail, /name/);

  const emptyPatch = await api.call('PATCH', '/v1/domains/01900000-0000-7000-8000-000000000000', { body: {}, headers: { 'if-match': '"1"' } });
  t.equal(emptyPatch.status, 400);

  const unknownRoute = await api.call('GET', '/v1/nothing-here');
  t.equal(unknownRoute.status, 404);
  t.equal(unknownRoute.headers['content-type'], 'application/problem+json; charset=utf-8');
});

t.test('lists paginate with an opaque cursor and filter', async (t) => {
  const api = await testApp(t);
  for (let i = 0; i < 7; i++) {
    await create(api, '/v1/domains', { ...domain(`D${i}`), review_frequency: i % 2 ? 'annual' : 'monthly' });
  }
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: any = await api.call('GET', `/v1/domains?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
    t.equal(page.status, 200);
    seen.push(...page.body.items.map((d: { name: string }) => d.name));
    cursor = page.body.next_cursor;
    pages++;
  } while (cursor);
  t.equal(pages, 3);
  t.same(seen, ['D0', 'D1', 'D2', 'D3', 'D4', 'D5', 'D6'], 'every item once, in creation order');

  const annual = await api.call('GET', '/v1/domains?review_frequency=annual');
  t.same(annual.body.items.map((d: { name: string }) => d.name), ['D1', 'D3', 'D5']);
  t.equal(annual.body.next_cursor, null);

  const badCursor = await api.call('GET', '/v1/domains?cursor=garbage');
  t.equal(badCursor.status, 400);
  t.match(badCursor.body.errors, [{ field: 'cursor' }]);
  const badLimit = await api.call('GET', '/v1/domains?limit=0');
  t.equal(badLimit.status, 400);
});

t.test('a failed change writes nothing, not even an audit row', async (t) => {
  const api = await testApp(t);
  const before = await api.app.db('audit_log').count('* as n').first();
  const response = await api.call('POST', '/v1/assets', {
    as: 'steward',
    body: { store: 'aurora', database: 'wealth', table: 't', domain: 'Nowhere', columns: [{ name: 'a', data_type: 'int', classification: 'internal' }] },
  });
  t.equal(response.status, 400);
  t.match(response.body.errors, [{ field: 'domain' }]);
  t.equal((await api.app.db('assets').count('* as n').first())!.n, 0);
  t.equal((await api.app.db('asset_columns').count('* as n').first())!.n, 0);
  t.same(await api.app.db('audit_log').count('* as n').first(), before);
});
