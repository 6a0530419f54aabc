import t from 'tap';
import { applyMask } from '../../src/catalog/masking.js';
import { create, testApp, type Response } from '../helpers/app.js';

const fieldsOf = (response: Response) => (response.body.errors ?? []).map((e: { field: string }) => e.field).sort();
const last4 = { strategy: 'show_last', params: { visible: 4 } } as const;

t.test('applyMask: show_last keeps the last letters or digits and every separator', async (t) => {
  t.equal(applyMask(last4, '123-45-6789'), '***-**-6789', 'SSN');
  t.equal(applyMask(last4, '123456789'), '*****6789', 'SSN without dashes');
  t.equal(applyMask(last4, '4111 1111 1111 1111'), '**** **** **** 1111', 'card');
  t.equal(applyMask(last4, '4111-1111-1111-1111'), '****-****-****-1111', 'card with dashes');
  t.equal(applyMask(last4, '+1 (555) 123-4567'), '+* (***) ***-4567', 'phone: only digits are hidden, the last 4 stay');
  t.equal(applyMask(last4, 'AB12CD34'), '****CD34', 'letters count like digits');
  t.equal(applyMask(last4, 'Zoë-Ångström'), '***-****tröm', 'non-ASCII letters are letters');

  t.equal(applyMask({ strategy: 'show_last', params: {} }, '123-45-6789'), '***-**-6789', 'visible defaults to 4');
  t.equal(applyMask({ strategy: 'show_last', params: { visible: 2 } }, '123-45-6789'), '***-**-**89');
  t.equal(applyMask({ strategy: 'show_last', params: { visible: 4, mask_char: '#' } }, '123-45-6789'), '###-##-6789', 'mask_char');

  // Fewer letters and digits than `visible`: nothing beyond them to hide.
  t.equal(applyMask(last4, '89'), '89', 'value shorter than visible');
  t.equal(applyMask(last4, '6789'), '6789', 'value exactly as long as visible');
  t.equal(applyMask(last4, '--'), '--', 'separators only');
  t.equal(applyMask(last4, ''), '', 'empty value');
});

t.test('applyMask: email_domain keeps only the domain', async (t) => {
  const rule = { strategy: 'email_domain', params: {} } as const;
  t.equal(applyMask(rule, 'jane.doe@example.com'), '***@example.com');
  t.equal(applyMask(rule, 'a@b'), '***@b');
  t.equal(applyMask(rule, '"odd@local"@bank.example'), '***@bank.example', 'the last @ separates the domain');
  for (const malformed of ['jane.doe', '@example.com', 'jane.doe@', '', '@']) {
    t.equal(applyMask(rule, malformed), '***', `malformed ${JSON.stringify(malformed)} is hidden whole`);
  }
});

t.test('applyMask: redact replaces the whole value', async (t) => {
  t.equal(applyMask({ strategy: 'redact', params: {} }, '123-45-6789'), '[REDACTED]');
  t.equal(applyMask({ strategy: 'redact', params: { replacement: 'XXX' } }, '123-45-6789'), 'XXX');
  t.equal(applyMask({ strategy: 'redact', params: { replacement: '' } }, 'secret'), '', 'an empty replacement is honoured');
  t.equal(applyMask({ strategy: 'redact', params: {} }, ''), '[REDACTED]', 'even an empty value');
});

t.test('masking rules over HTTP', async (t) => {
  const api = await testApp(t);

  const seeded = await api.call('GET', '/v1/masking-rules', { as: 'auditor' });
  t.equal(seeded.status, 200);
  t.same(
    seeded.body.items.map((r: { name: string; strategy: string; params: unknown }) => [r.name, r.strategy, r.params]),
    [
      ['ssn_last4', 'show_last', { visible: 4 }],
      ['card_last4', 'show_last', { visible: 4 }],
      ['email_domain', 'email_domain', {}],
      ['phone_last4', 'show_last', { visible: 4 }],
      ['redact', 'redact', { replacement: '[REDACTED]' }],
    ],
    'the five seeded rules, in seed order',
  );
  t.equal(seeded.body.next_cursor, null);
  const byName = Object.fromEntries(seeded.body.items.map((r: { name: string; id: string }) => [r.name, r]));

  const showLast = await api.call('GET', '/v1/masking-rules?strategy=show_last', { as: 'steward' });
  t.same(showLast.body.items.map((r: { name: string }) => r.name), ['ssn_last4', 'card_last4', 'phone_last4']);

  t.test('preview', async (t) => {
    const ssn = await api.call('POST', `/v1/masking-rules/${byName.ssn_last4.id}/preview`, { as: 'steward', body: { value: '123-45-6789' } });
    t.equal(ssn.status, 200);
    t.same(ssn.body, { masked: '***-**-6789' });
    const card = await api.call('POST', `/v1/masking-rules/${byName.card_last4.id}/preview`, { as: 'auditor', body: { value: '4111 1111 1111 1111' } });
    t.same(card.body, { masked: '**** **** **** 1111' });
    const email = await api.call('POST', `/v1/masking-rules/${byName.email_domain.id}/preview`, { as: 'compliance_officer', body: { value: 'jane.doe@example.com' } });
    t.same(email.body, { masked: '***@example.com' });
    const redact = await api.call('POST', `/v1/masking-rules/${byName.redact.id}/preview`, { body: { value: '12-3456789' } });
    t.same(redact.body, { masked: '[REDACTED]' });

    const pipeline = await api.call('POST', `/v1/masking-rules/${byName.ssn_last4.id}/preview`, { as: 'pipeline', body: { value: '123-45-6789' } });
    t.equal(pipeline.status, 403);
    t.equal(pipeline.body.type, '/problems/forbidden');
    const unknown = await api.call('POST', '/v1/masking-rules/01900000-0000-7000-8000-000000000000/preview', { body: { value: 'x' } });
    t.equal(unknown.status, 404);
    t.equal(unknown.body.type, '/problems/not-found');
    const noValue = await api.call('POST', `/v1/masking-rules/${byName.ssn_last4.id}/preview`, { body: { val: 'x' } });
    t.equal(noValue.status, 400);
    t.same(fieldsOf(noValue), ['val', 'value']);
  });

  t.test('params must belong to the strategy', async (t) => {
    const before = await api.app.db('masking_rules').count('* as n').first();
    const emailWithVisible = await api.call('POST', '/v1/masking-rules', {
      as: 'compliance_officer',
      body: { name: 'email_short', strategy: 'email_domain', params: { visible: 4 } },
    });
    t.equal(emailWithVisible.status, 400);
    t.equal(emailWithVisible.body.type, '/problems/validation-error');
    t.same(emailWithVisible.body.errors, [{ location: 'body', field: 'params.visible', message: 'is not a parameter of strategy email_domain' }]);

    const redactWithMaskChar = await api.call('POST', '/v1/masking-rules', {
      as: 'compliance_officer',
      body: { name: 'hide', strategy: 'redact', params: { mask_char: '#' } },
    });
    t.equal(redactWithMaskChar.status, 400);
    t.same(fieldsOf(redactWithMaskChar), ['params.mask_char']);

    const showLastWithReplacement = await api.call('POST', '/v1/masking-rules', {
      as: 'compliance_officer',
      body: { name: 'last2', strategy: 'show_last', params: { visible: 2, replacement: 'x' } },
    });
    t.equal(showLastWithReplacement.status, 400);
    t.same(fieldsOf(showLastWithReplacement), ['params.replacement']);

    const unknownParam = await api.call('POST', '/v1/masking-rules', { as: 'compliance_officer', body: { name: 'last2', strategy: 'show_last', params: { keep: 2 } } });
    t.equal(unknownParam.status, 400);
    t.same(fieldsOf(unknownParam), ['params.keep']);
    t.same(await api.app.db('masking_rules').count('* as n').first(), before, 'nothing stored');

    // Changing the strategy re-checks the stored params against the new one.
    const last2 = await create(api, '/v1/masking-rules', { name: 'last2', strategy: 'show_last', params: { visible: 2, mask_char: 'x' } }, 'compliance_officer');
    const switched = await api.call('PATCH', `/v1/masking-rules/${last2.id}`, { as: 'compliance_officer', body: { strategy: 'redact' }, headers: { 'if-match': '"1"' } });
    t.equal(switched.status, 400);
    t.equal(switched.body.errors.length, 1);
    t.match(switched.body.errors[0], { location: 'body', field: /^params\.(visible|mask_char)$/, message: 'is not a parameter of strategy redact' });
    const reread = await api.call('GET', `/v1/masking-rules/${last2.id}`);
    t.match(reread.body, { strategy: 'show_last', params: { visible: 2, mask_char: 'x' }, version: 1 });
    const both = await api.call('PATCH', `/v1/masking-rules/${last2.id}`, {
      as: 'compliance_officer',
      body: { strategy: 'redact', params: { replacement: '--' } },
      headers: { 'if-match': '"1"' },
    });
    t.equal(both.status, 200);
    t.match(both.body, { strategy: 'redact', params: { replacement: '--' }, version: 2 });
    const preview = await api.call('POST', `/v1/masking-rules/${last2.id}/preview`, { body: { value: 'anything' } });
    t.same(preview.body, { masked: '--' });
  });

  t.test('only risk owners write masking rules', async (t) => {
    const body = { name: 'acct_last4', description: 'Account numbers', strategy: 'show_last', params: { visible: 4, mask_char: 'X' } };
    const steward = await api.call('POST', '/v1/masking-rules', { as: 'steward', body });
    t.equal(steward.status, 403);
    t.equal(steward.body.type, '/problems/forbidden');
    const auditor = await api.call('POST', '/v1/masking-rules', { as: 'auditor', body });
    t.equal(auditor.status, 403);
    t.equal((await api.app.db('masking_rules').where({ name: 'acct_last4' }).count('* as n').first())!.n, 0, 'nothing created by them');

    const officer = await api.call('POST', '/v1/masking-rules', { as: 'compliance_officer', body });
    t.equal(officer.status, 201);
    t.match(officer.body, body);
    const preview = await api.call('POST', `/v1/masking-rules/${officer.body.id}/preview`, { as: 'steward', body: { value: '0012-3456-7890' } });
    t.same(preview.body, { masked: 'XXXX-XXXX-7890' });

    const stewardDelete = await api.call('DELETE', `/v1/masking-rules/${officer.body.id}`, { as: 'steward' });
    t.equal(stewardDelete.status, 403);
    t.equal((await api.call('GET', `/v1/masking-rules/${officer.body.id}`)).status, 200);
  });

  t.test('a rule used by a column cannot be deleted', async (t) => {
    await create(api, '/v1/domains', { name: 'Client', owner: 'o@bank.example', steward: 's@bank.example', review_frequency: 'quarterly' });
    const asset = await create(api, '/v1/assets', {
      store: 'aurora',
      database: 'wealth',
      table: 'clients',
      domain: 'Client',
      columns: [
        { name: 'client_id', data_type: 'uuid', classification: 'internal' },
        { name: 'ssn', data_type: 'text', classification: 'restricted', pii_type: 'ssn', masking_rule: 'ssn_last4' },
      ],
    });
    const refused = await api.call('DELETE', `/v1/masking-rules/${byName.ssn_last4.id}`, { as: 'compliance_officer' });
    t.equal(refused.status, 409);
    t.equal(refused.body.type, '/problems/in-use');
    t.match(refused.body.detail, /asset_columns/);
    t.equal((await api.call('GET', `/v1/masking-rules/${byName.ssn_last4.id}`)).status, 200, 'the rule is still there');
    t.equal((await api.call('GET', `/v1/assets/${asset.id}`)).body.columns[1].masking_rule, 'ssn_last4');

    const unused = await api.call('DELETE', `/v1/masking-rules/${byName.phone_last4.id}`, { as: 'compliance_officer' });
    t.equal(unused.status, 204);
    t.equal((await api.call('GET', `/v1/masking-rules/${byName.phone_last4.id}`)).status, 404);
  });
});
