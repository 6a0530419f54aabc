import t from 'tap';
import { approvePending, create, testApp, type Response, type TestApp } from '../helpers/app.js';

/** The distinct fields a refusal names. */
const fieldsOf = (response: Response) => [...new Set<string>((response.body.errors ?? []).map((e: { field: string }) => e.field))].sort();
const domain = (name: string) => ({ name, owner: 'owner@bank.example', steward: 'steward@bank.example', review_frequency: 'quarterly' });
const col = (name: string, classification: string, extra: Record<string, unknown> = {}) => ({ name, data_type: 'text', classification, ...extra });
const count = async (api: TestApp, table: string) => (await api.app.db(table).count('* as n').first())!.n;

t.test('creating assets: classification and validation', async (t) => {
  const api = await testApp(t);
  await create(api, '/v1/domains', domain('Client'));
  const base = { store: 'aurora', database: 'wealth', domain: 'Client' };

  const clients = await api.call('POST', '/v1/assets', {
    as: 'steward',
    body: {
      ...base,
      table: 'clients',
      description: 'Client master',
      retention_policy: 'client-data',
      tags: { owner_team: 'onboarding' },
      columns: [
        col('client_id', 'internal', { data_type: 'uuid' }),
        col('ssn', 'restricted', { pii_type: 'ssn', masking_rule: 'ssn_last4' }),
        col('email', 'confidential', { pii_type: 'email', masking_rule: 'email_domain', description: 'Primary contact' }),
      ],
    },
  });
  t.equal(clients.status, 201);
  t.equal(clients.headers.etag, '"1"');
  t.match(clients.body, {
    store: 'aurora',
    database: 'wealth',
    table: 'clients',
    description: 'Client master',
    domain: 'Client',
    classification: 'restricted',
    retention_policy: 'client-data',
    location: null,
    tags: { owner_team: 'onboarding' },
    version: 1,
  });
  t.same(clients.body.columns, [
    { name: 'client_id', data_type: 'uuid', description: '', classification: 'internal', pii_type: null, masking_rule: null },
    { name: 'ssn', data_type: 'text', description: '', classification: 'restricted', pii_type: 'ssn', masking_rule: 'ssn_last4' },
    { name: 'email', data_type: 'text', description: 'Primary contact', classification: 'confidential', pii_type: 'email', masking_rule: 'email_domain' },
  ], 'columns keep their order and defaults');
  t.same((await api.call('GET', `/v1/assets/${clients.body.id}`, { as: 'auditor' })).body, clients.body);

  const highest = await create(api, '/v1/assets', { ...base, table: 'accounts', columns: [col('a', 'public'), col('b', 'confidential'), col('c', 'internal')] });
  t.equal(highest.classification, 'confidential', 'defaults to the highest column, wherever it is');
  const declaredHigher = await create(api, '/v1/assets', { ...base, table: 'notes', classification: 'restricted', columns: [col('note', 'internal')] });
  t.equal(declaredHigher.classification, 'restricted', 'a declared classification above the columns is kept');
  const declaredEqual = await create(api, '/v1/assets', { ...base, table: 'emails', classification: 'confidential', columns: [col('email', 'confidential')] });
  t.equal(declaredEqual.classification, 'confidential');
  const noColumns = await create(api, '/v1/assets', { ...base, store: 's3', database: 'raw', table: 'statements', classification: 'restricted', location: 's3://bank-raw/statements/' });
  t.match(noColumns, { classification: 'restricted', columns: [], location: 's3://bank-raw/statements/', retention_policy: null, tags: {} });

  const assetsBefore = await count(api, 'assets');
  const columnsBefore = await count(api, 'asset_columns');

  t.test('refusals name the offending field', async (t) => {
    const refuse = async (body: Record<string, unknown>, field: string, message?: RegExp) => {
      const response = await api.call('POST', '/v1/assets', { as: 'steward', body: { ...base, table: 'refused', ...body } });
      t.equal(response.status, 400, `${field}: 400`);
      t.equal(response.body.type, '/problems/validation-error');
      t.same(fieldsOf(response), [field], `${field} is named`);
      if (message) t.match(response.body.errors[0].message, message);
      return response;
    };

    await refuse({ classification: 'internal', columns: [col('id', 'internal'), col('ssn', 'restricted')] }, 'classification', /at least restricted, the classification of column ssn/);
    await refuse({ classification: 'public', columns: [col('id', 'internal')] }, 'classification', /at least internal/);
    await refuse({ columns: [col('id', 'internal'), col('ssn', 'secret')] }, 'columns[1].classification', /unknown classification "secret"; known: public, internal, confidential, restricted/);
    await refuse({ classification: 'secret', columns: [col('id', 'internal')] }, 'classification', /unknown classification "secret"/);
    await refuse({ classification: 'secret' }, 'classification', /unknown classification/);
    await refuse({ columns: [col('id', 'internal'), col('ssn', 'restricted', { masking_rule: 'ssn_first4' })] }, 'columns[1].masking_rule', /unknown masking rule "ssn_first4"/);
    await refuse({ columns: [col('id', 'internal'), col('name', 'internal'), col('id', 'confidential')] }, 'columns[2].name', /duplicates column id/);
    const pii = await refuse({ columns: [col('ssn', 'restricted', { pii_type: 'social_security' })] }, 'columns[0].pii_type', /must be one of: ssn, email/);
    t.same(
      pii.body.errors,
      [{ location: 'body', field: 'columns[0].pii_type', message: 'must be one of: ssn, email, phone, credit_card, tax_id, account_number, name, address, dob' }],
      'a nullable enum gets one entry, the one that says what is allowed',
    );
    await refuse({ domain: 'Trading', columns: [col('id', 'internal')] }, 'domain', /does not exist/);
    await refuse({ retention_policy: 'forever', columns: [col('id', 'internal')] }, 'retention_policy', /does not exist/);
    await refuse({}, 'classification', /required when the asset has no columns/);
    await refuse({ columns: [] }, 'classification', /required when the asset has no columns/);
    await refuse({ store: 'oracle', classification: 'internal' }, 'store');
    await refuse({ classification: 'internal', columns: [{ name: 'id', classification: 'internal' }] }, 'columns[0].data_type', /is required/);

    const duplicate = await api.call('POST', '/v1/assets', { as: 'steward', body: { ...base, table: 'clients', classification: 'internal' } });
    t.equal(duplicate.status, 409);
    t.equal(duplicate.body.type, '/problems/duplicate');
    t.match(duplicate.body.detail, /store, database, table_name/);

    t.equal(await count(api, 'assets'), assetsBefore, 'no asset stored');
    t.equal(await count(api, 'asset_columns'), columnsBefore, 'no column stored');

    // The same table name in another store or database is another asset.
    const otherStore = await api.call('POST', '/v1/assets', { as: 'steward', body: { ...base, store: 'snowflake', table: 'clients', classification: 'internal' } });
    t.equal(otherStore.status, 201);
    const otherDatabase = await api.call('POST', '/v1/assets', { as: 'steward', body: { ...base, database: 'wealth_archive', table: 'clients', classification: 'internal' } });
    t.equal(otherDatabase.status, 201);

    const officer = await api.call('POST', '/v1/assets', { as: 'compliance_officer', body: { ...base, table: 'x', classification: 'internal' } });
    t.equal(officer.status, 403, 'assets are curated by stewards');
  });

  t.test('PATCH of the asset', async (t) => {
    const lower = await api.call('PATCH', `/v1/assets/${highest.id}`, { as: 'steward', body: { classification: 'internal' }, headers: { 'if-match': '"1"' } });
    t.equal(lower.status, 400);
    t.same(fieldsOf(lower), ['classification']);

    const raised = await api.call('PATCH', `/v1/assets/${highest.id}`, {
      as: 'steward',
      body: { columns: [col('a', 'public'), col('b', 'confidential'), col('c', 'restricted', { pii_type: 'tax_id', masking_rule: 'redact' })] },
      headers: { 'if-match': '"1"' },
    });
    t.equal(raised.status, 200);
    t.match(raised.body, { classification: 'restricted', version: 2 });
    t.same(raised.body.columns.map((c: { name: string; classification: string }) => `${c.name}:${c.classification}`), ['a:public', 'b:confidential', 'c:restricted']);

    // Dropping the restricted column and lowering another lowers protection: a second person approves (test/security/).
    const fewerProposed = await api.call('PATCH', `/v1/assets/${highest.id}`, { as: 'steward', body: { columns: [col('b', 'internal'), col('d', 'public')] }, headers: { 'if-match': '"2"' } });
    t.equal(fewerProposed.status, 202);
    await approvePending(api, fewerProposed);
    const fewer = await api.call('GET', `/v1/assets/${highest.id}`);
    t.equal(fewer.body.classification, 'restricted', 'removing the sensitive column does not lower the asset by itself');
    t.same(fewer.body.columns.map((c: { name: string }) => c.name), ['b', 'd'], 'columns replaced, in the new order');
    t.same((await api.app.db('asset_columns').where({ asset_id: highest.id }).orderBy('position')).map((c: { name: string }) => c.name), ['b', 'd']);

    const loweredProposed = await api.call('PATCH', `/v1/assets/${highest.id}`, { as: 'steward', body: { classification: 'internal', retention_policy: 'client-data' }, headers: { 'if-match': '"3"' } });
    t.equal(loweredProposed.status, 202, 'a steward may propose a lower level that still covers every column');
    await approvePending(api, loweredProposed);
    const lowered = await api.call('GET', `/v1/assets/${highest.id}`);
    t.match(lowered.body, { classification: 'internal', retention_policy: 'client-data', version: 4 });
    const cleared = await api.call('PATCH', `/v1/assets/${highest.id}`, { as: 'steward', body: { retention_policy: null, location: null }, headers: { 'if-match': '"4"' } });
    t.match(cleared.body, { retention_policy: null, location: null, classification: 'internal', version: 5 });
  });
});

t.test('a steward classifies one column', async (t) => {
  const api = await testApp(t);
  await create(api, '/v1/domains', domain('Client'));
  const asset = await create(api, '/v1/assets', {
    store: 'aurora',
    database: 'wealth',
    table: 'clients',
    domain: 'Client',
    columns: [col('client_id', 'internal'), col('tax_ref', 'confidential'), col('city', 'internal')],
  });
  t.equal(asset.classification, 'confidential');
  const url = (column: string) => `/v1/assets/${asset.id}/columns/${column}`;
  const change = { classification: 'restricted', pii_type: 'tax_id', masking_rule: 'redact' };

  const noIfMatch = await api.call('PATCH', url('tax_ref'), { as: 'steward', body: change });
  t.equal(noIfMatch.status, 428);
  t.equal(noIfMatch.body.type, '/problems/precondition-required');
  const stale = await api.call('PATCH', url('tax_ref'), { as: 'steward', body: change, headers: { 'if-match': '"2"' } });
  t.equal(stale.status, 412);
  t.equal(stale.body.type, '/problems/precondition-failed');
  const unknown = await api.call('PATCH', url('passport'), { as: 'steward', body: change, headers: { 'if-match': '"1"' } });
  t.equal(unknown.status, 404);
  t.equal(unknown.body.type, '/problems/not-found');
  t.match(unknown.body.detail, 'has no column passport');
  const unknownAsset = await api.call('PATCH', '/v1/assets/01900000-0000-7000-8000-000000000000/columns/tax_ref', { as: 'steward', body: change, headers: { 'if-match': '"1"' } });
  t.equal(unknownAsset.status, 404);
  const officer = await api.call('PATCH', url('tax_ref'), { as: 'compliance_officer', body: change, headers: { 'if-match': '"1"' } });
  t.equal(officer.status, 403);
  const rename = await api.call('PATCH', url('tax_ref'), { as: 'steward', body: { name: 'tin' }, headers: { 'if-match': '"1"' } });
  t.equal(rename.status, 400, 'a column is not renamed here');
  t.same(fieldsOf(rename), ['name']);
  const empty = await api.call('PATCH', url('tax_ref'), { as: 'steward', body: {}, headers: { 'if-match': '"1"' } });
  t.equal(empty.status, 400);
  t.match((await api.call('GET', `/v1/assets/${asset.id}`)).body, { version: 1, classification: 'confidential' }, 'nothing changed yet');
  t.equal(await api.app.db('audit_log').where({ entity: 'assets', action: 'update_column' }).count('* as n').first().then((r) => r!.n), 0);

  const classified = await api.call('PATCH', url('tax_ref'), { as: 'steward', body: change, headers: { 'if-match': '"1"' } });
  t.equal(classified.status, 200);
  t.equal(classified.headers.etag, '"2"');
  t.match(classified.body, { id: asset.id, classification: 'restricted', version: 2 }, 'the asset rises with its column');
  t.same(classified.body.columns, [
    { name: 'client_id', data_type: 'text', description: '', classification: 'internal', pii_type: null, masking_rule: null },
    { name: 'tax_ref', data_type: 'text', description: '', classification: 'restricted', pii_type: 'tax_id', masking_rule: 'redact' },
    { name: 'city', data_type: 'text', description: '', classification: 'internal', pii_type: null, masking_rule: null },
  ]);
  t.same((await api.call('GET', `/v1/assets/${asset.id}`)).body, classified.body);

  const audit = await api.call('GET', `/v1/audit-log?entity=assets&entity_id=${asset.id}&action=update_column`, { as: 'auditor' });
  t.equal(audit.status, 200);
  t.equal(audit.body.items.length, 1);
  const [entry] = audit.body.items;
  t.match(entry, { action: 'update_column', entity: 'assets', entity_id: asset.id, role: 'steward', actor: 'test-steward' });
  t.match(entry.old_value, { classification: 'confidential', version: 1, columns: [{ name: 'client_id' }, { name: 'tax_ref', classification: 'confidential', pii_type: null, masking_rule: null }, { name: 'city' }] });
  t.match(entry.new_value, { classification: 'restricted', version: 2, columns: [{ name: 'client_id' }, { name: 'tax_ref', classification: 'restricted', pii_type: 'tax_id', masking_rule: 'redact' }, { name: 'city' }] });

  const lessSensitiveProposed = await api.call('PATCH', url('tax_ref'), { as: 'steward', body: { classification: 'internal', description: 'Legacy reference' }, headers: { 'if-match': '"2"' } });
  t.equal(lessSensitiveProposed.status, 202, 'declassifying is a pending change');
  await approvePending(api, lessSensitiveProposed);
  const lessSensitive = await api.call('GET', `/v1/assets/${asset.id}`);
  t.equal(lessSensitive.body.classification, 'restricted', 'declassifying a column does not lower the asset');
  t.match(lessSensitive.body.columns[1], { classification: 'internal', description: 'Legacy reference', pii_type: 'tax_id', masking_rule: 'redact' }, 'fields not sent are kept');

  const clearProposed = await api.call('PATCH', url('tax_ref'), { as: 'steward', body: { pii_type: null, masking_rule: null }, headers: { 'if-match': '"3"' } });
  t.equal(clearProposed.status, 202);
  await approvePending(api, clearProposed);
  const clear = await api.call('GET', `/v1/assets/${asset.id}`);
  t.match(clear.body.columns[1], { pii_type: null, masking_rule: null });

  // Refusals of the column's own values name the field of the body that was sent.
  const badLevel = await api.call('PATCH', url('city'), { as: 'steward', body: { classification: 'secret' }, headers: { 'if-match': '"4"' } });
  t.equal(badLevel.status, 400);
  t.same(fieldsOf(badLevel), ['classification'], 'the body field, not the asset column index');
  const badRule = await api.call('PATCH', url('city'), { as: 'steward', body: { masking_rule: 'city_hash' }, headers: { 'if-match': '"4"' } });
  t.equal(badRule.status, 400);
  t.same(fieldsOf(badRule), ['masking_rule'], 'the body field, not the asset column index');
  const badPii = await api.call('PATCH', url('city'), { as: 'steward', body: { pii_type: 'city' }, headers: { 'if-match': '"4"' } });
  t.equal(badPii.status, 400);
  t.same(fieldsOf(badPii), ['pii_type']);
  t.match((await api.call('GET', `/v1/assets/${asset.id}`)).body, { version: 4, columns: [{}, {}, { name: 'city', classification: 'internal', masking_rule: null }] });
  t.equal((await api.call('GET', `/v1/audit-log?entity=assets&entity_id=${asset.id}&action=update_column`)).body.items.length, 3);
});

t.test('data quality rules hold their asset and columns', async (t) => {
  const api = await testApp(t);
  await create(api, '/v1/domains', domain('Client'));
  const asset = await create(api, '/v1/assets', {
    store: 'aurora',
    database: 'wealth',
    table: 'accounts',
    domain: 'Client',
    columns: [col('account_id', 'confidential', { pii_type: 'account_number' }), col('balance', 'confidential', { data_type: 'numeric' }), col('branch', 'internal')],
  });
  const rule = await create(api, '/v1/data-quality-rules', { asset_id: asset.id, column_name: 'balance', name: 'balance not null', rule_type: 'not_null', severity: 'high' }, 'steward');
  const auditBefore = await count(api, 'audit_log');

  const dropped = await api.call('PATCH', `/v1/assets/${asset.id}`, {
    as: 'steward',
    body: { description: 'Accounts', columns: [col('account_id', 'restricted'), col('branch', 'internal')] },
    headers: { 'if-match': '"1"' },
  });
  t.equal(dropped.status, 409);
  t.equal(dropped.body.type, '/problems/in-use');
  t.match(dropped.body.detail, /data_quality_rules/);
  const after = await api.call('GET', `/v1/assets/${asset.id}`);
  t.same(after.body, asset, 'nothing changed: not the columns, the description, the classification nor the version');
  t.equal(await count(api, 'audit_log'), auditBefore, 'no audit row');

  const renamed = await api.call('PATCH', `/v1/assets/${asset.id}`, {
    as: 'steward',
    body: { columns: [col('account_id', 'confidential'), col('balance', 'confidential', { data_type: 'numeric(18,2)' }), col('branch_code', 'internal')] },
    headers: { 'if-match': '"1"' },
  });
  t.equal(renamed.status, 202, 'columns without rules can go (dropping an internal column is a pending change)');
  await approvePending(api, renamed);
  renamed.body = (await api.call('GET', `/v1/assets/${asset.id}`)).body;
  t.same(renamed.body.columns.map((c: { name: string; data_type: string }) => `${c.name}:${c.data_type}`), ['account_id:text', 'balance:numeric(18,2)', 'branch_code:text']);
  t.equal((await api.call('GET', `/v1/data-quality-rules/${rule.id}`)).body.column_name, 'balance', 'the rule keeps its column');

  const refused = await api.call('DELETE', `/v1/assets/${asset.id}`, { as: 'steward' });
  t.equal(refused.status, 409);
  t.equal(refused.body.type, '/problems/in-use');
  t.equal((await api.call('GET', `/v1/assets/${asset.id}`)).status, 200);
  t.equal(await api.app.db('asset_columns').where({ asset_id: asset.id }).count('* as n').first().then((r) => r!.n), 3);

  // A table-level rule holds the asset as well.
  t.equal((await api.call('DELETE', `/v1/data-quality-rules/${rule.id}`, { as: 'steward' })).status, 204);
  const tableRule = await create(api, '/v1/data-quality-rules', { asset_id: asset.id, name: 'not-empty', rule_type: 'row_count', definition: { min: 1 }, severity: 'medium' }, 'steward');
  t.equal((await api.call('DELETE', `/v1/assets/${asset.id}`, { as: 'steward' })).status, 409);
  t.equal((await api.call('DELETE', `/v1/data-quality-rules/${tableRule.id}`, { as: 'steward' })).status, 204);

  const deleted = await api.call('DELETE', `/v1/assets/${asset.id}`, { as: 'steward', headers: { 'if-match': '"2"' } });
  t.equal(deleted.status, 204);
  t.equal((await api.call('GET', `/v1/assets/${asset.id}`)).status, 404);
  t.equal(await api.app.db('asset_columns').where({ asset_id: asset.id }).count('* as n').first().then((r) => r!.n), 0, 'its columns went with it');
});

t.test('list filters', async (t) => {
  const api = await testApp(t);
  await create(api, '/v1/domains', domain('Client'));
  await create(api, '/v1/domains', domain('Trading'));
  const clients = await create(api, '/v1/assets', {
    store: 'aurora',
    database: 'wealth',
    table: 'clients',
    domain: 'Client',
    retention_policy: 'client-data',
    columns: [col('id', 'internal'), col('ssn', 'restricted', { pii_type: 'ssn', masking_rule: 'ssn_last4' })],
  });
  const trades = await create(api, '/v1/assets', {
    store: 's3',
    database: 'lake',
    table: 'trades',
    domain: 'Trading',
    retention_policy: 'transaction-data',
    columns: [col('amount', 'internal'), col('trader_email', 'confidential', { pii_type: 'email' }), col('trader_phone', 'confidential', { pii_type: 'phone' })],
  });
  const positions = await create(api, '/v1/assets', {
    store: 'snowflake',
    database: 'analytics',
    table: 'positions',
    domain: 'Trading',
    classification: 'internal',
    columns: [col('isin', 'public'), col('quantity', 'internal')],
  });
  const wealthPositions = await create(api, '/v1/assets', { store: 'aurora', database: 'wealth', table: 'positions', domain: 'Client', classification: 'public' });

  const names: Record<string, string> = { [clients.id]: 'clients', [trades.id]: 'trades', [positions.id]: 'positions', [wealthPositions.id]: 'wealth.positions' };
  const list = async (query: string) => {
    const response = await api.call('GET', `/v1/assets?${query}`, { as: 'auditor' });
    t.equal(response.status, 200, `${query}: 200`);
    return response.body.items.map((a: { id: string }) => names[a.id]);
  };

  t.same(await list(''), ['clients', 'trades', 'positions', 'wealth.positions']);
  t.same(await list('store=aurora'), ['clients', 'wealth.positions']);
  t.same(await list('store=glue'), []);
  t.same(await list('domain=Trading'), ['trades', 'positions']);
  t.same(await list('database=wealth'), ['clients', 'wealth.positions']);
  t.same(await list('classification=internal'), ['positions']);
  t.same(await list('classification=confidential'), ['trades']);
  t.same(await list('retention_policy=transaction-data'), ['trades']);
  t.same(await list('pii_type=ssn'), ['clients']);
  t.same(await list('pii_type=phone'), ['trades']);
  t.same(await list('pii_type=dob'), []);
  t.same(await list('has_pii=true'), ['clients', 'trades']);
  t.same(await list('has_pii=false'), ['positions', 'wealth.positions'], 'including an asset without columns');
  t.same(await list('table=positions'), ['positions', 'wealth.positions']);
  t.same(await list('table=positions&store=aurora'), ['wealth.positions']);
  t.same(await list('store=aurora&has_pii=false'), ['wealth.positions']);
  t.same(await list('domain=Trading&pii_type=email'), ['trades']);

  const page1 = await api.call('GET', '/v1/assets?has_pii=true&limit=1');
  t.same(page1.body.items.map((a: { id: string }) => a.id), [clients.id]);
  t.same(page1.body.items[0].columns.map((c: { name: string }) => c.name), ['id', 'ssn'], 'listed assets carry their columns');
  const page2 = await api.call('GET', `/v1/assets?has_pii=true&limit=1&cursor=${page1.body.next_cursor}`);
  t.same(page2.body.items.map((a: { id: string }) => a.id), [trades.id]);
  t.equal(page2.body.next_cursor, null);

  for (const [query, field] of [
    ['store=oracle', 'store'],
    ['pii_type=passport', 'pii_type'],
    ['has_pii=maybe', 'has_pii'],
    ['classification=Top%20Secret', 'classification'],
    ['owner=x', 'owner'],
  ]) {
    const bad = await api.call('GET', `/v1/assets?${query}`);
    t.equal(bad.status, 400, `${query}: 400`);
    t.match(bad.body.errors, [{ location: 'querystring', field }]);
  }
  t.equal((await api.call('GET', '/v1/assets', { as: 'pipeline' })).status, 403, 'pipelines read no catalog data');
});
