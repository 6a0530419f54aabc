import t from 'tap';
import { create, testApp, type Response } from '../helpers/app.js';

const fieldsOf = (response: Response) => (response.body.errors ?? []).map((e: { field: string }) => e.field).sort();
const ranked = (response: Response) => response.body.items.map((c: { name: string; rank: number }) => `${c.name}:${c.rank}`);

t.test('classifications', async (t) => {
  const api = await testApp(t);

  const seeded = await api.call('GET', '/v1/classifications', { as: 'auditor' });
  t.equal(seeded.status, 200);
  t.same(ranked(seeded), ['public:0', 'internal:10', 'confidential:20', 'restricted:30'], 'the four seeded levels, least sensitive first');
  t.match(seeded.body.items[3], { name: 'restricted', version: 1, description: /Regulated identifiers/, handling_requirements: ['Explicit, time-limited column grant for a declared purpose', String, String, String] });
  const id = Object.fromEntries(seeded.body.items.map((c: { name: string; id: string }) => [c.name, c.id]));

  const byName = await api.call('GET', '/v1/classifications?name=confidential', { as: 'steward' });
  t.same(ranked(byName), ['confidential:20']);

  t.test('create and patch; the list stays in rank order', async (t) => {
    const secret = await api.call('POST', '/v1/classifications', {
      as: 'compliance_officer',
      body: { name: 'top-secret', rank: 40, handling_requirements: ['Need to know'] },
    });
    t.equal(secret.status, 201);
    t.equal(secret.headers.location, `/v1/classifications/${secret.body.id}`);
    t.match(secret.body, { name: 'top-secret', rank: 40, description: '', handling_requirements: ['Need to know'], version: 1 });

    const limited = await create(api, '/v1/classifications', { name: 'limited_2', rank: 5, description: 'Between public and internal' }, 'compliance_officer');
    t.same(limited.handling_requirements, [], 'handling_requirements defaults to none');
    const list = await api.call('GET', '/v1/classifications');
    t.same(ranked(list), ['public:0', 'limited_2:5', 'internal:10', 'confidential:20', 'restricted:30', 'top-secret:40'], 'by rank, not by creation');

    const page1 = await api.call('GET', '/v1/classifications?limit=4');
    t.same(ranked(page1), ['public:0', 'limited_2:5', 'internal:10', 'confidential:20']);
    const page2 = await api.call('GET', `/v1/classifications?limit=4&cursor=${page1.body.next_cursor}`);
    t.same(ranked(page2), ['restricted:30', 'top-secret:40'], 'the cursor follows rank order');
    t.equal(page2.body.next_cursor, null);

    const patched = await api.call('PATCH', `/v1/classifications/${secret.body.id}`, {
      as: 'compliance_officer',
      body: { description: 'Board only', handling_requirements: ['Need to know', 'Two-person rule'] },
      headers: { 'if-match': '"1"' },
    });
    t.equal(patched.status, 200);
    t.equal(patched.headers.etag, '"2"');
    t.match(patched.body, { name: 'top-secret', rank: 40, description: 'Board only', handling_requirements: ['Need to know', 'Two-person rule'], version: 2 });

    const steward = await api.call('POST', '/v1/classifications', { as: 'steward', body: { name: 'mine', rank: 50 } });
    t.equal(steward.status, 403);
    t.equal(steward.body.type, '/problems/forbidden');
    const stewardPatch = await api.call('PATCH', `/v1/classifications/${secret.body.id}`, { as: 'steward', body: { description: 'x' }, headers: { 'if-match': '"2"' } });
    t.equal(stewardPatch.status, 403);
    t.equal((await api.call('GET', `/v1/classifications/${secret.body.id}`)).body.description, 'Board only');
  });

  t.test('names and ranks are unique; names are lower-case slugs', async (t) => {
    const count = async () => (await api.app.db('classifications').count('* as n').first())!.n;
    const before = await count();

    const sameName = await api.call('POST', '/v1/classifications', { body: { name: 'internal', rank: 15 } });
    t.equal(sameName.status, 409);
    t.equal(sameName.body.type, '/problems/duplicate');
    t.match(sameName.body.detail, /same name already exists/);

    const sameRank = await api.call('POST', '/v1/classifications', { body: { name: 'sensitive', rank: 20 } });
    t.equal(sameRank.status, 409);
    t.equal(sameRank.body.type, '/problems/duplicate');
    t.match(sameRank.body.detail, /same rank already exists/);

    for (const name of ['Top Secret', 'Secret', '1st', 'a.b', '', 'x'.repeat(64)]) {
      const bad = await api.call('POST', '/v1/classifications', { body: { name, rank: 99 } });
      t.equal(bad.status, 400, `name ${JSON.stringify(name)} refused`);
      t.same(fieldsOf(bad), ['name']);
    }
    for (const rank of [-1, 1001, 2.5, '5']) {
      const bad = await api.call('POST', '/v1/classifications', { body: { name: 'odd', rank } });
      t.equal(bad.status, 400, `rank ${JSON.stringify(rank)} refused`);
      t.same(fieldsOf(bad), ['rank']);
    }
    t.equal(await count(), before, 'nothing stored');

    const renameToTaken = await api.call('PATCH', `/v1/classifications/${id.public}`, { body: { name: 'internal' }, headers: { 'if-match': '"1"' } });
    t.equal(renameToTaken.status, 409);
    const rerankToTaken = await api.call('PATCH', `/v1/classifications/${id.public}`, { body: { rank: 10 }, headers: { 'if-match': '"1"' } });
    t.equal(rerankToTaken.status, 409);
    t.equal(rerankToTaken.body.type, '/problems/duplicate');
    t.match((await api.call('GET', `/v1/classifications/${id.public}`)).body, { name: 'public', rank: 0, version: 1 });
  });

  t.test('a classification in use keeps its rank and cannot be deleted', async (t) => {
    await create(api, '/v1/domains', { name: 'Client', owner: 'o@bank.example', steward: 's@bank.example', review_frequency: 'quarterly' });
    const clients = await create(api, '/v1/assets', {
      store: 'aurora',
      database: 'wealth',
      table: 'clients',
      domain: 'Client',
      columns: [
        { name: 'client_id', data_type: 'uuid', classification: 'internal' },
        { name: 'email', data_type: 'text', classification: 'confidential', pii_type: 'email' },
      ],
    });
    t.equal(clients.classification, 'confidential');
    // `restricted` is used by an asset's own classification only, not by any column.
    await create(api, '/v1/assets', { store: 's3', database: 'lake', table: 'statements', domain: 'Client', classification: 'restricted' });

    const auditBefore = await api.app.db('audit_log').count('* as n').first();
    for (const name of ['internal', 'confidential', 'restricted']) {
      const rerank = await api.call('PATCH', `/v1/classifications/${id[name]}`, { as: 'compliance_officer', body: { rank: 25 }, headers: { 'if-match': '"1"' } });
      t.equal(rerank.status, 409, `${name}: rank cannot change`);
      t.equal(rerank.body.type, '/problems/conflict');
      t.match(rerank.body.detail, `classification ${name} is in use`);
    }
    t.same(ranked(await api.call('GET', '/v1/classifications?limit=4')).slice(0, 4), ['public:0', 'limited_2:5', 'internal:10', 'confidential:20']);
    t.match((await api.call('GET', `/v1/classifications/${id.confidential}`)).body, { rank: 20, version: 1 });
    t.same(await api.app.db('audit_log').count('* as n').first(), auditBefore, 'refusals are not audited as changes');

    const sameRank = await api.call('PATCH', `/v1/classifications/${id.confidential}`, {
      as: 'compliance_officer',
      body: { rank: 20, description: 'Client financial data and PII.' },
      headers: { 'if-match': '"1"' },
    });
    t.equal(sameRank.status, 200, 'restating the same rank is not a change of rank');
    t.match(sameRank.body, { rank: 20, description: 'Client financial data and PII.', version: 2 });

    const unused = await api.call('PATCH', `/v1/classifications/${id.public}`, { as: 'compliance_officer', body: { rank: 1 }, headers: { 'if-match': '"1"' } });
    t.equal(unused.status, 200, 'an unused level can be re-ranked');
    t.match(unused.body, { name: 'public', rank: 1, version: 2 });

    for (const name of ['internal', 'confidential', 'restricted']) {
      const deleted = await api.call('DELETE', `/v1/classifications/${id[name]}`, { as: 'compliance_officer' });
      t.equal(deleted.status, 409, `${name}: cannot be deleted`);
      t.equal(deleted.body.type, '/problems/in-use');
      t.equal((await api.call('GET', `/v1/classifications/${id[name]}`)).status, 200);
    }
    const unusedDelete = await api.call('DELETE', `/v1/classifications/${id.public}`, { as: 'compliance_officer', headers: { 'if-match': '"2"' } });
    t.equal(unusedDelete.status, 204);
    t.equal((await api.call('GET', `/v1/classifications/${id.public}`)).status, 404);

    // With its only column reclassified, `internal` is free again.
    const reclassified = await api.call('PATCH', `/v1/assets/${clients.id}/columns/client_id`, { as: 'steward', body: { classification: 'confidential' }, headers: { 'if-match': '"1"' } });
    t.equal(reclassified.status, 200);
    const freed = await api.call('PATCH', `/v1/classifications/${id.internal}`, { as: 'compliance_officer', body: { rank: 12 }, headers: { 'if-match': '"1"' } });
    t.equal(freed.status, 200);
    t.equal(freed.body.rank, 12);
  });
});
