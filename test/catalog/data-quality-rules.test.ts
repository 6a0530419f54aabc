import t from 'tap';
import { create, testApp } from '../helpers/app.js';
import type { Response } from '../helpers/app.js';

const fieldsOf = (response: Response) => [...new Set<string>((response.body.errors ?? []).map((e: { field: string }) => e.field))].sort();
const col = (name: string, classification = 'internal') => ({ name, data_type: 'text', classification });

t.test('data quality rules', async (t) => {
  const api = await testApp(t);
  await create(api, '/v1/domains', { name: 'Client', owner: 'o@bank.example', steward: 's@bank.example', review_frequency: 'monthly' });
  const accounts = await create(api, '/v1/assets', {
    store: 'aurora',
    database: 'wealth',
    table: 'accounts',
    domain: 'Client',
    columns: [col('account_id', 'confidential'), col('balance'), col('status'), col('email', 'confidential'), col('branch_id'), col('loaded_at')],
  });
  // Referential rules point at a catalogued column of the same store and database.
  await create(api, '/v1/assets', { store: 'aurora', database: 'wealth', table: 'branches', domain: 'Client', columns: [col('id')] });
  const ledger = await create(api, '/v1/assets', { store: 'snowflake', database: 'finance', table: 'ledger', domain: 'Client', columns: [col('entry_id'), col('amount')] });
  const count = async () => (await api.app.db('data_quality_rules').count('* as n').first())!.n;

  const valid: Array<Record<string, unknown>> = [
    { column_name: 'account_id', name: 'account id present', rule_type: 'not_null', severity: 'critical' },
    { column_name: 'account_id', name: 'account id unique', rule_type: 'unique', severity: 'critical', definition: {} },
    { column_name: 'balance', name: 'balance non-negative', rule_type: 'range', severity: 'high', definition: { min: 0 } },
    { column_name: 'balance', name: 'balance capped', rule_type: 'range', severity: 'low', definition: { max: 1e9 } },
    { column_name: 'email', name: 'email shape', rule_type: 'regex', severity: 'medium', definition: { pattern: '^[^@\\s]+@[^@\\s]+$' } },
    { column_name: 'status', name: 'status known', rule_type: 'allowed_values', severity: 'high', definition: { values: ['open', 'dormant', 'closed'] } },
    { column_name: 'branch_id', name: 'branch exists', rule_type: 'referential', severity: 'medium', definition: { references: 'branches.id' } },
    { column_name: 'loaded_at', name: 'loaded daily', rule_type: 'freshness', severity: 'high', definition: { max_age_hours: 26 } },
    { column_name: null, name: 'not empty', rule_type: 'row_count', severity: 'low', definition: { min: 1 } },
    { name: 'balanced', rule_type: 'custom_sql', severity: 'critical', definition: { sql: 'balance >= 0' }, enabled: false, description: 'Totals never negative' },
  ];
  const created: Record<string, any> = {};

  t.test('one rule of each type', async (t) => {
    for (const body of valid) {
      const response = await api.call('POST', '/v1/data-quality-rules', { as: 'steward', body: { asset_id: accounts.id, ...body } });
      t.equal(response.status, 201, `${body.rule_type}: ${body.name}`);
      t.match(response.body, {
        asset_id: accounts.id,
        column_name: body.column_name ?? null,
        name: body.name,
        rule_type: body.rule_type,
        severity: body.severity,
        definition: body.definition ?? {},
        enabled: body.enabled ?? true,
        description: body.description ?? '',
        version: 1,
      });
      created[body.name as string] = response.body;
    }
    t.same(new Set(valid.map((v) => v.rule_type)).size, 9, 'the nine rule types of the first API (format has its own tests)');
    t.same((await api.call('GET', `/v1/data-quality-rules/${created['status known'].id}`, { as: 'auditor' })).body, created['status known']);
  });

  t.test('definitions are checked per type', async (t) => {
    const before = await count();
    const refuse = async (body: Record<string, unknown>, field: string, message: RegExp) => {
      const response = await api.call('POST', '/v1/data-quality-rules', {
        as: 'steward',
        body: { asset_id: accounts.id, name: 'refused', severity: 'low', ...body },
      });
      t.equal(response.status, 400, `${body.rule_type} ${JSON.stringify(body.definition)}: 400`);
      t.equal(response.body.type, '/problems/validation-error');
      t.same(fieldsOf(response), [field], `names ${field}`);
      t.match(response.body.errors[0].message, message);
    };
    await refuse({ column_name: 'email', rule_type: 'regex', definition: { pattern: '([a-z' } }, 'definition.pattern', /valid regular expression/);
    await refuse({ column_name: 'email', rule_type: 'regex', definition: { pattern: '*' } }, 'definition.pattern', /valid regular expression/);
    await refuse({ column_name: 'email', rule_type: 'regex', definition: { pattern: 42 } }, 'definition.pattern', /valid regular expression/);
    await refuse({ column_name: 'email', rule_type: 'regex' }, 'definition.pattern', /valid regular expression/);
    await refuse({ column_name: 'balance', rule_type: 'range', definition: {} }, 'definition', /numeric min or max/);
    await refuse({ column_name: 'balance', rule_type: 'range', definition: { min: '0', max: 10 } }, 'definition.min', /must be a number/);
    await refuse({ column_name: 'balance', rule_type: 'range', definition: { min: 'abc', max: 5 } }, 'definition.min', /must be a number/);
    await refuse({ column_name: 'balance', rule_type: 'range', definition: { min: 10, max: 0 } }, 'definition.max', /must not be below min/);
    await refuse({ column_name: 'balance', rule_type: 'range' }, 'definition', /numeric min or max/);
    await refuse({ column_name: 'status', rule_type: 'allowed_values', definition: { values: [] } }, 'definition.values', /non-empty array/);
    await refuse({ column_name: 'status', rule_type: 'allowed_values', definition: { values: 'open' } }, 'definition.values', /non-empty array/);
    await refuse({ column_name: 'branch_id', rule_type: 'referential', definition: { references: 'branches' } }, 'definition.references', /table\.column/);
    await refuse({ column_name: 'branch_id', rule_type: 'referential', definition: { references: 'agencies.id' } }, 'definition.references', /no asset aurora\/wealth\.agencies/);
    await refuse({ column_name: 'loaded_at', rule_type: 'freshness', definition: { max_age_hours: 0 } }, 'definition.max_age_hours', /positive number/);
    await refuse({ column_name: 'loaded_at', rule_type: 'freshness', definition: { max_age_hours: '24' } }, 'definition.max_age_hours', /positive number/);
    await refuse({ rule_type: 'custom_sql', definition: { sql: '   ' } }, 'definition.sql', /SQL expression/);

    for (const rule_type of ['not_null', 'unique', 'range', 'regex', 'allowed_values', 'referential']) {
      await refuse({ rule_type, definition: { min: 0, pattern: 'x', values: [1], references: 'a.b' } }, 'column_name', new RegExp(`required for a ${rule_type} rule`));
      await refuse({ rule_type, column_name: null, definition: { min: 0, pattern: 'x', values: [1], references: 'a.b' } }, 'column_name', /is required/);
    }

    const badType = await api.call('POST', '/v1/data-quality-rules', { as: 'steward', body: { asset_id: accounts.id, name: 'x', rule_type: 'spell_check', severity: 'low' } });
    t.equal(badType.status, 400);
    t.same(fieldsOf(badType), ['rule_type']);
    const badSeverity = await api.call('POST', '/v1/data-quality-rules', { as: 'steward', body: { asset_id: accounts.id, name: 'x', rule_type: 'row_count', severity: 'info' } });
    t.equal(badSeverity.status, 400);
    t.same(fieldsOf(badSeverity), ['severity']);
    t.equal(await count(), before, 'nothing stored');
  });

  t.test('the asset and the column must exist', async (t) => {
    const before = await count();
    const noAsset = await api.call('POST', '/v1/data-quality-rules', {
      as: 'steward',
      body: { asset_id: '01900000-0000-7000-8000-000000000000', column_name: 'balance', name: 'x', rule_type: 'not_null', severity: 'low' },
    });
    t.equal(noAsset.status, 400);
    t.same(noAsset.body.errors, [{ location: 'body', field: 'asset_id', message: 'asset 01900000-0000-7000-8000-000000000000 does not exist' }]);
    const notUuid = await api.call('POST', '/v1/data-quality-rules', { as: 'steward', body: { asset_id: 'accounts', name: 'x', rule_type: 'row_count', severity: 'low' } });
    t.equal(notUuid.status, 400);
    t.same(fieldsOf(notUuid), ['asset_id']);

    const noColumn = await api.call('POST', '/v1/data-quality-rules', { as: 'steward', body: { asset_id: accounts.id, column_name: 'amount', name: 'x', rule_type: 'not_null', severity: 'low' } });
    t.equal(noColumn.status, 400);
    t.same(noColumn.body.errors, [{ location: 'body', field: 'column_name', message: `asset ${accounts.id} has no column amount` }], "another asset's column does not count");
    const tableLevelColumn = await api.call('POST', '/v1/data-quality-rules', {
      as: 'steward',
      body: { asset_id: accounts.id, column_name: 'nope', name: 'x', rule_type: 'row_count', severity: 'low' },
    });
    t.equal(tableLevelColumn.status, 400, 'a named column must exist even for a table-level type');
    t.same(fieldsOf(tableLevelColumn), ['column_name']);
    t.equal(await count(), before);
  });

  t.test('names are unique per asset', async (t) => {
    const duplicate = await api.call('POST', '/v1/data-quality-rules', {
      as: 'steward',
      body: { asset_id: accounts.id, column_name: 'balance', name: 'balance non-negative', rule_type: 'not_null', severity: 'low' },
    });
    t.equal(duplicate.status, 409);
    t.equal(duplicate.body.type, '/problems/duplicate');
    t.match(duplicate.body.detail, /asset_id, name/);
    const otherAsset = await api.call('POST', '/v1/data-quality-rules', {
      as: 'steward',
      body: { asset_id: ledger.id, column_name: 'amount', name: 'balance non-negative', rule_type: 'range', definition: { min: 0 }, severity: 'low' },
    });
    t.equal(otherAsset.status, 201, 'the same name on another asset is fine');
    created['ledger range'] = otherAsset.body;
  });

  t.test('updates are checked like creations', async (t) => {
    const rule = created['balance non-negative'];
    const invalid = await api.call('PATCH', `/v1/data-quality-rules/${rule.id}`, { as: 'steward', body: { definition: { minimum: 0 } }, headers: { 'if-match': '"1"' } });
    t.equal(invalid.status, 400);
    t.same(fieldsOf(invalid), ['definition']);
    const toRegex = await api.call('PATCH', `/v1/data-quality-rules/${rule.id}`, { as: 'steward', body: { rule_type: 'regex' }, headers: { 'if-match': '"1"' } });
    t.equal(toRegex.status, 400, 'a new type is checked against the stored definition');
    t.same(fieldsOf(toRegex), ['definition.min', 'definition.pattern'], 'the missing pattern and the parameter regex does not take');
    const toTable = await api.call('PATCH', `/v1/data-quality-rules/${rule.id}`, { as: 'steward', body: { column_name: null }, headers: { 'if-match': '"1"' } });
    t.equal(toTable.status, 400);
    t.same(fieldsOf(toTable), ['column_name']);
    const otherColumn = await api.call('PATCH', `/v1/data-quality-rules/${rule.id}`, { as: 'steward', body: { column_name: 'amount' }, headers: { 'if-match': '"1"' } });
    t.equal(otherColumn.status, 400);
    t.same(fieldsOf(otherColumn), ['column_name']);
    t.match((await api.call('GET', `/v1/data-quality-rules/${rule.id}`)).body, { rule_type: 'range', column_name: 'balance', definition: { min: 0 }, version: 1 });

    const ok = await api.call('PATCH', `/v1/data-quality-rules/${rule.id}`, {
      as: 'steward',
      body: { definition: { min: 0, max: 5e8 }, severity: 'critical' },
      headers: { 'if-match': '"1"' },
    });
    t.equal(ok.status, 200);
    t.match(ok.body, { definition: { min: 0, max: 5e8 }, severity: 'critical', column_name: 'balance', version: 2 });
    const disabled = await api.call('PATCH', `/v1/data-quality-rules/${created['email shape'].id}`, { as: 'steward', body: { enabled: false }, headers: { 'if-match': '"1"' } });
    t.match(disabled.body, { enabled: false, version: 2 });
    created['balance non-negative'] = ok.body;

    const officer = await api.call('POST', '/v1/data-quality-rules', { as: 'compliance_officer', body: { asset_id: ledger.id, name: 'y', rule_type: 'row_count', severity: 'low' } });
    t.equal(officer.status, 403, 'data quality is curated by stewards');
    const auditor = await api.call('PATCH', `/v1/data-quality-rules/${rule.id}`, { as: 'auditor', body: { enabled: false }, headers: { 'if-match': '"2"' } });
    t.equal(auditor.status, 403);
  });

  t.test('filters', async (t) => {
    const list = async (query: string) => {
      const response = await api.call('GET', `/v1/data-quality-rules?${query}`, { as: 'auditor' });
      t.equal(response.status, 200, `${query}: 200`);
      return response.body.items.map((r: { name: string; asset_id: string }) => (r.asset_id === ledger.id ? `ledger:${r.name}` : r.name));
    };
    t.same(await list(`asset_id=${ledger.id}`), ['ledger:balance non-negative']);
    t.same(await list(`asset_id=${accounts.id}&column_name=balance`), ['balance non-negative', 'balance capped']);
    t.same(await list('column_name=account_id'), ['account id present', 'account id unique']);
    t.same(await list('rule_type=range'), ['balance non-negative', 'balance capped', 'ledger:balance non-negative']);
    t.same(await list('rule_type=freshness'), ['loaded daily']);
    t.same(await list('severity=critical'), ['account id present', 'account id unique', 'balance non-negative', 'balanced']);
    t.same(await list('enabled=false'), ['email shape', 'balanced']);
    t.same(await list(`enabled=true&asset_id=${accounts.id}&severity=high`), ['status known', 'loaded daily']);
    t.same(await list('severity=critical&rule_type=custom_sql'), ['balanced']);

    const page1 = await api.call('GET', `/v1/data-quality-rules?asset_id=${accounts.id}&limit=4`);
    const page2 = await api.call('GET', `/v1/data-quality-rules?asset_id=${accounts.id}&limit=4&cursor=${page1.body.next_cursor}`);
    const page3 = await api.call('GET', `/v1/data-quality-rules?asset_id=${accounts.id}&limit=4&cursor=${page2.body.next_cursor}`);
    t.same(
      [...page1.body.items, ...page2.body.items, ...page3.body.items].map((r: { name: string }) => r.name),
      valid.map((v) => v.name),
      'every rule of the asset once, in creation order',
    );
    t.equal(page3.body.next_cursor, null);

    for (const [query, field] of [
      ['asset_id=accounts', 'asset_id'],
      ['rule_type=spell_check', 'rule_type'],
      ['severity=info', 'severity'],
      ['enabled=sometimes', 'enabled'],
    ]) {
      const bad = await api.call('GET', `/v1/data-quality-rules?${query}`);
      t.equal(bad.status, 400, `${query}: 400`);
      t.match(bad.body.errors, [{ location: 'querystring', field }]);
    }
  });
});
