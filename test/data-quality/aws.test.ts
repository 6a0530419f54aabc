import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import t from 'tap';
import { PLANTED } from '../../src/demo/wealth-data.js';
import { create, testApp } from '../helpers/app.js';
import { MOTO_ACCOUNT, motoClient, motoSkip, startMoto } from '../helpers/moto.js';
import { assetId, createDemoRules, loadCatalog, resultOf, runAndWait, wealthDatabase } from './helpers.js';

// Secrets Manager and DynamoDB on moto; PostgreSQL is this file's embedded server.

t.test('a PostgreSQL credential from Secrets Manager; a secret that cannot be read fails the run and nothing else', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 1 } });
  await loadCatalog(api);
  const db = await wealthDatabase(t, { defects: true });
  const secrets = new SecretsManagerClient(motoClient(moto.endpoint));
  t.teardown(() => secrets.destroy());
  const secret = await secrets.send(new CreateSecretCommand({ Name: 'wealth/dq-reader', SecretString: JSON.stringify({ username: db.role, password: db.password }) }));
  const connection = await create(api, '/v1/data-quality-connections', {
    name: 'wealth-aurora',
    store: 'aurora',
    database: 'wealth',
    settings: { host: db.host, port: db.port, dbname: db.dbname, credential: { secret_arn: secret.ARN }, tls: false },
  });
  t.notOk(JSON.stringify(connection).includes(db.password), 'the connection holds a reference, not the password');
  const rules = await createDemoRules(api, 'wealth');

  const run = await runAndWait(api, `/v1/data-quality-rules/${rules['SSN unique'].id}/run`);
  t.match(resultOf(run, rules['SSN unique']), { status: 'failed', rows_failing: PLANTED.duplicateSsnClients.length }, 'ran with the secret\'s user and password');
  const findingsBefore = await api.app.db('findings').orderBy('id').select('id', 'status');
  const evidenceBefore = Number((await api.app.db('evidence_items').count('* as n').first())!.n);

  // The secret is gone: the run fails, naming the connection, the secret and the AWS error.
  const missing = `arn:aws:secretsmanager:us-east-1:${MOTO_ACCOUNT}:secret:wealth/deleted-AbCdEf`;
  const etag = `"${connection.version}"`;
  const patched = await api.call('PATCH', `/v1/data-quality-connections/${connection.id}`, {
    body: { settings: { ...connection.settings, credential: { secret_arn: missing } } },
    headers: { 'if-match': etag },
  });
  t.equal(patched.status, 200);
  const failed = await runAndWait(api, `/v1/data-quality-rules/${rules['SSN unique'].id}/run`);
  t.equal(failed.status, 'failed');
  t.match(failed.error, new RegExp(`^connection wealth-aurora: cannot read secret ${missing.replace(/[/]/g, '\\/')}: ResourceNotFoundException`));
  t.match(resultOf(failed, rules['SSN unique']), { status: 'error', rows_checked: 0, samples: [], finding_id: null });
  t.same(await api.app.db('findings').orderBy('id').select('id', 'status'), findingsBefore, 'no finding opened or resolved');
  t.equal(Number((await api.app.db('evidence_items').count('* as n').first())!.n), evidenceBefore + 3, 'only the run\'s own evidence: it happened, and failed');
  t.equal((await api.call('GET', `/v1/data-quality-rules/${rules['SSN unique'].id}/results?status=passed`, { as: 'auditor' })).body.items.length, 0, 'no pass recorded');
});

t.test('DynamoDB rules scan with a sampling limit', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 1 } });
  await loadCatalog(api);
  const dynamo = new DynamoDBClient(motoClient(moto.endpoint));
  t.teardown(() => dynamo.destroy());
  await dynamo.send(
    new CreateTableCommand({
      TableName: 'investment_transactions',
      KeySchema: [{ AttributeName: 'transaction_id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'transaction_id', AttributeType: 'N' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  // 50 transactions; planted: 7 has an unknown type, 9 and 10 have no quantity, 12 is dated next year.
  const today = new Date().toISOString().slice(0, 10);
  for (let id = 1; id <= 50; id++) {
    const item: Record<string, { N: string } | { S: string }> = {
      transaction_id: { N: String(id) },
      account_id: { N: String(1 + (id % 30)) },
      security_id: { N: String(1 + (id % 5)) },
      transaction_type: { S: id === 7 ? 'gift' : ['buy', 'sell', 'dividend'][id % 3]! },
      transaction_date: { S: id === 12 ? `${Number(today.slice(0, 4)) + 1}${today.slice(4)}` : today },
      price: { N: '101.5' },
      amount: { N: String(id * 101.5) },
    };
    if (id !== 9 && id !== 10) item.quantity = { N: String(id) };
    await dynamo.send(new PutItemCommand({ TableName: 'investment_transactions', Item: item }));
  }
  const connection = await create(api, '/v1/data-quality-connections', { name: 'wealth-dynamodb', store: 'dynamodb', database: 'wealth', settings: { region: 'us-east-1', scan_limit: 1000, sample_size: 5 } });
  const asset = (await api.app.db('assets').where({ store: 'dynamodb', database: 'wealth', table_name: 'investment_transactions' }).first('id')).id;
  const rule = (body: Record<string, unknown>) => create(api, '/v1/data-quality-rules', { asset_id: asset, severity: 'high', ...body }, 'steward');
  const rules = {
    quantity: await rule({ column_name: 'quantity', name: 'quantity present', rule_type: 'not_null' }),
    type: await rule({ column_name: 'transaction_type', name: 'type known', rule_type: 'allowed_values', definition: { values: ['buy', 'sell', 'dividend'] } }),
    date: await rule({ column_name: 'transaction_date', name: 'not in the future', rule_type: 'range', definition: { max: 'now' } }),
    unique: await rule({ column_name: 'transaction_id', name: 'id unique', rule_type: 'unique' }),
    fresh: await rule({ column_name: 'transaction_date', name: 'loaded today', rule_type: 'freshness', definition: { max_age: 'P2D' } }),
    count: await rule({ name: 'has rows', rule_type: 'row_count', definition: { min: 1 } }),
  };
  const refused = await api.call('POST', '/v1/data-quality-rules', { as: 'steward', body: { asset_id: asset, name: 'x', severity: 'low', rule_type: 'custom_sql', definition: { sql: 'quantity > 0' } } });
  t.equal(refused.status, 400, 'custom SQL cannot run on DynamoDB');
  t.match(refused.body.errors, [{ field: 'rule_type' }]);

  const run = await runAndWait(api, '/v1/data-quality-runs', { asset_id: asset });
  t.equal(run.status, 'complete');
  const ids = (r: Record<string, any>) => r.samples.map((s: { transaction_id: number }) => s.transaction_id).sort((a: number, b: number) => a - b);
  t.match(resultOf(run, rules.quantity), { status: 'failed', rows_checked: 50, rows_failing: 2, complete: true });
  t.same(ids(resultOf(run, rules.quantity)), [9, 10]);
  t.match(resultOf(run, rules.type), { status: 'failed', rows_failing: 1 });
  t.same(ids(resultOf(run, rules.type)), [7]);
  t.same(ids(resultOf(run, rules.date)), [12]);
  t.match(resultOf(run, rules.unique), { status: 'passed', rows_failing: 0 });
  t.match(resultOf(run, rules.fresh), { status: 'passed' });
  t.match(resultOf(run, rules.count), { status: 'passed', observed: { rows: 50, scanned: 50, sampled: false } });

  // With a scan limit below the table's size, the result says it is a sample, and a pass resolves nothing.
  const finding = await api.app.db('findings').where({ resource_id: rules.type.id }).first('id', 'status');
  t.equal(finding.status, 'open', 'the unknown type opened a finding');
  await dynamo.send(new PutItemCommand({ TableName: 'investment_transactions', Item: { transaction_id: { N: '7' }, transaction_type: { S: 'buy' }, quantity: { N: '7' }, transaction_date: { S: today } } }));
  const limited = await api.call('PATCH', `/v1/data-quality-connections/${connection.id}`, { body: { settings: { ...connection.settings, scan_limit: 20 } }, headers: { 'if-match': `"${connection.version}"` } });
  t.equal(limited.status, 200);
  const sampled = await runAndWait(api, `/v1/data-quality-rules/${rules.type.id}/run`);
  t.match(resultOf(sampled, rules.type), { status: 'passed', rows_checked: 20, complete: false, observed: { scanned: 20, sampled: true }, finding_id: null }, 'a pass on a sample of 20');
  t.equal((await api.app.db('findings').where({ id: finding.id }).first('status')).status, 'open', 'does not resolve the finding');
  await api.call('PATCH', `/v1/data-quality-connections/${connection.id}`, { body: { settings: { ...connection.settings, scan_limit: 1000 } }, headers: { 'if-match': `"${limited.body.version}"` } });
  const full = await runAndWait(api, `/v1/data-quality-rules/${rules.type.id}/run`);
  t.match(resultOf(full, rules.type), { status: 'passed', rows_checked: 50, complete: true, finding_id: finding.id });
  t.equal((await api.app.db('findings').where({ id: finding.id }).first('status')).status, 'resolved', 'a pass over the whole table does');
});
