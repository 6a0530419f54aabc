import t from 'tap';
import { testApp } from './helpers/app.js';

t.test('logs carry no keys, no bodies and no query strings', async (t) => {
  const lines: string[] = [];
  const api = await testApp(t, { config: { logLevel: 'debug' }, logStream: { write: (line) => void lines.push(line) } });
  const ssn = '987-65-4321';
  const [rule] = await api.app.db('masking_rules').where({ name: 'ssn_last4' });
  const preview = await api.call('POST', `/v1/masking-rules/${rule.id}/preview`, { as: 'steward', body: { value: ssn } });
  t.same(preview.body, { masked: '***-**-4321' });
  await api.call('GET', '/v1/domains?owner=jane.doe%40bank.example', { as: 'auditor' });
  await api.call('GET', '/v1/domains', { key: 'cus_wrong-key-that-does-not-exist-0000' });
  const created = await api.call('POST', '/v1/api-keys', { body: { role: 'pipeline', name: 'etl' } });
  t.equal(created.status, 201);

  const output = lines.join('');
  t.ok(output.includes('"url":"/v1/domains"'), 'requests are logged');
  for (const secret of [...Object.values(api.keys), created.body.key, 'cus_wrong-key', ssn, 'jane.doe']) {
    t.notOk(output.includes(secret), `log does not contain ${secret.slice(0, 8)}…`);
  }
});
