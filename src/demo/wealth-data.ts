import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { quoteIdent } from '../data-quality/predicate.js';
import { demoAssets } from './wealth-catalog.js';

/**
 * The wealth database of seed 001 §4.1–4.3 as PostgreSQL tables (one per `aurora`/`wealth` asset of
 * the demo catalog, same columns), filled with a small book of clients, contacts, accounts,
 * securities and prices. With `defects`, the data carries the problems data quality rules exist to
 * catch, exactly those listed in `PLANTED`; without, it is the clean twin. Used by
 * `npm run demo:data` and the data quality tests.
 */

const TYPES: Record<string, string> = { int: 'integer', bigint: 'bigint', varchar: 'varchar(255)', text: 'text', date: 'date', timestamp: 'timestamp', decimal: 'numeric(18,2)', blob: 'bytea' };

/** The defects planted in the defective twin, by what finds them. */
export const PLANTED = {
  /** clients 3 and 4, 7 and 8 share an SSN. */
  duplicateSsnClients: [3, 4, 7, 8],
  /** clients born after today. */
  futureBirthClients: [5, 6],
  /** client 11 has no last name. */
  missingLastNameClients: [11],
  /** client 12's marital status is not one of single, married, divorced, widowed. */
  unknownMaritalStatusClients: [12],
  /** contacts with an email that is not an address. */
  malformedEmailContacts: [2, 9, 15],
  /** accounts whose client does not exist. */
  orphanAccounts: [29, 30],
  /** an open account with a negative balance. */
  negativeOpenAccounts: [17],
  /** the newest price is this many days old (0 in the clean twin). */
  stalePriceDays: 10,
  /** account_statements is empty. */
  emptyTable: 'account_statements',
};
export const CLIENTS = 20;
export const CONTACTS = 20;
export const ACCOUNTS = 30;
export const MARITAL_STATUSES = ['single', 'married', 'divorced', 'widowed'];

/** The clear SSN of a client in the generated data (tests check none of them is ever stored). */
export const ssnOf = (clientId: number) => `${100 + clientId}-45-${6700 + clientId}`;

export function wealthTables(): Array<{ table: string; sql: string }> {
  return demoAssets
    .filter((a) => a.store === 'aurora' && a.database === 'wealth')
    .map((a) => ({
      table: a.table,
      sql: `CREATE TABLE ${quoteIdent(a.table)} (${a.columns.map((c, i) => `${quoteIdent(c.name)} ${TYPES[c.data_type] ?? 'text'}${i === 0 ? ' PRIMARY KEY' : ''}`).join(', ')})`,
    }));
}

/** Creates (or recreates) every wealth table in the connected database and fills it. */
export async function createWealthData(client: pg.Client, options: { defects: boolean }): Promise<void> {
  const { defects } = options;
  await client.query('BEGIN');
  try {
    for (const { table, sql } of wealthTables()) {
      await client.query(`DROP TABLE IF EXISTS ${quoteIdent(table)}`);
      await client.query(sql);
    }
    await client.query(
      `INSERT INTO clients SELECT i, 'First' || i, 'Last' || i, date '1950-01-15' + (i * 397) % 18000, (100 + i) || '-45-' || (6700 + i),
         ($2::text[])[1 + i % 4], now() - interval '30 days', now() - interval '1 day'
       FROM generate_series(1, $1::int) AS i`,
      [CLIENTS, MARITAL_STATUSES],
    );
    await client.query(
      `INSERT INTO contact_information SELECT i, i, i || ' Harbour Street', 'Boston', 'MA', '02110', '+1-617-555-' || lpad(i::text, 4, '0'),
         'client' || i || '@example.com', 'email'
       FROM generate_series(1, $1::int) AS i`,
      [CONTACTS],
    );
    await client.query(`INSERT INTO account_types VALUES (1, 'brokerage', 'Taxable brokerage'), (2, 'ira', 'Individual retirement'), (3, 'trust', 'Trust account')`);
    await client.query(
      `INSERT INTO accounts SELECT i, 1 + (i - 1) % $2::int, 1 + i % 3, 'WM-' || (100000 + i), date '2015-01-01' + i * 30, 1000.00 * i, 'open'
       FROM generate_series(1, $1::int) AS i`,
      [ACCOUNTS, CLIENTS],
    );
    await client.query(
      `INSERT INTO securities_master VALUES (1, 'AAPL', 'Apple Inc.', 'equity'), (2, 'MSFT', 'Microsoft Corp.', 'equity'),
         (3, 'IBM', 'International Business Machines', 'equity'), (4, 'GOOG', 'Alphabet Inc.', 'equity'), (5, 'UST10Y', 'US Treasury 10Y', 'bond')`,
    );
    await client.query(
      `INSERT INTO price_history SELECT (s - 1) * 5 + d, s, current_date - $1::int - (d - 1), 100 + s * 10 + d
       FROM generate_series(1, 5) AS s, generate_series(1, 5) AS d`,
      [defects ? PLANTED.stalePriceDays : 0],
    );
    if (!defects) {
      await client.query(`INSERT INTO account_statements SELECT i, i, date '2026-10-31', 's3://wealth-statements/' || i || '.pdf' FROM generate_series(1, $1::int) AS i`, [ACCOUNTS]);
    } else {
      const [a, b, c, d] = PLANTED.duplicateSsnClients as [number, number, number, number];
      await client.query(`UPDATE clients SET ssn = $2 WHERE client_id = $1`, [b, ssnOf(a)]);
      await client.query(`UPDATE clients SET ssn = $2 WHERE client_id = $1`, [d, ssnOf(c)]);
      await client.query(`UPDATE clients SET date_of_birth = current_date + 400 WHERE client_id = ANY($1::int[])`, [PLANTED.futureBirthClients]);
      await client.query(`UPDATE clients SET last_name = NULL WHERE client_id = ANY($1::int[])`, [PLANTED.missingLastNameClients]);
      await client.query(`UPDATE clients SET marital_status = 'complicated' WHERE client_id = ANY($1::int[])`, [PLANTED.unknownMaritalStatusClients]);
      const [e1, e2, e3] = PLANTED.malformedEmailContacts;
      await client.query(`UPDATE contact_information SET email = CASE contact_id WHEN $1::int THEN 'client2.example.com' WHEN $2::int THEN 'client9@' ELSE 'client 15@example.com' END WHERE contact_id IN ($1, $2, $3)`, [e1, e2, e3]);
      await client.query(`UPDATE accounts SET client_id = 900 + account_id WHERE account_id = ANY($1::int[])`, [PLANTED.orphanAccounts]);
      await client.query(`UPDATE accounts SET account_balance = -250.00 WHERE account_id = ANY($1::int[])`, [PLANTED.negativeOpenAccounts]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/**
 * A read-only login for data quality rules: SELECT on the wealth tables and nothing else, so even a
 * rule that got past every check could not change the data.
 */
export async function createReadOnlyRole(client: pg.Client, role: string, password: string): Promise<void> {
  const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  const literal = `'${password.replace(/'/g, "''")}'`;
  await client.query(`${exists.rowCount ? 'ALTER' : 'CREATE'} ROLE ${quoteIdent(role)} LOGIN PASSWORD ${literal}`);
  await client.query(`GRANT USAGE ON SCHEMA public TO ${quoteIdent(role)}`);
  await client.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${quoteIdent(role)}`);
}

/** The rules of the walk-through and the demo, by table: each catches one planted defect. */
export function demoRules(): Array<{ table: string; column_name?: string; name: string; rule_type: string; severity: string; definition: Record<string, unknown>; threshold?: number }> {
  return [
    { table: 'clients', column_name: 'ssn', name: 'SSN unique', rule_type: 'unique', severity: 'critical', definition: {} },
    { table: 'clients', column_name: 'date_of_birth', name: 'born in the past', rule_type: 'range', severity: 'high', definition: { max: 'now' } },
    { table: 'clients', column_name: 'last_name', name: 'last name present', rule_type: 'not_null', severity: 'medium', definition: {} },
    { table: 'clients', column_name: 'marital_status', name: 'marital status known', rule_type: 'allowed_values', severity: 'low', definition: { values: MARITAL_STATUSES } },
    { table: 'contact_information', column_name: 'email', name: 'email well formed', rule_type: 'format', severity: 'medium', definition: { pattern: 'email' } },
    { table: 'accounts', column_name: 'client_id', name: 'account has a client', rule_type: 'referential', severity: 'critical', definition: { references: 'clients.client_id' } },
    { table: 'accounts', name: 'open accounts not overdrawn', rule_type: 'custom_sql', severity: 'high', definition: { sql: "account_balance >= 0 OR account_status = 'closed'" } },
    { table: 'price_history', column_name: 'price_date', name: 'prices are current', rule_type: 'freshness', severity: 'high', definition: { max_age: 'P1D' } },
    { table: 'account_statements', name: 'statements loaded', rule_type: 'row_count', severity: 'medium', definition: { min: 1 } },
  ];
}

/** The environment variable the demo's data quality connection reads its password from. */
export const DEMO_DQ_PASSWORD_ENV = 'CUSTOS_DQ_DEMO_PASSWORD';

/**
 * The password of the demo's read-only data quality login, generated once and kept in the data
 * directory (0600). `--demo` puts it in the service's environment; `npm run demo:data` gives it to
 * the login it creates. Demo only: a real connection's secret lives in Secrets Manager.
 */
export async function demoDataQualityPassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'demo-dq-password');
  const existing = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (existing?.trim()) return existing.trim();
  await fs.mkdir(dataDir, { recursive: true });
  const password = randomBytes(18).toString('base64url');
  await fs.writeFile(file, password + '\n', { mode: 0o600, flag: 'wx' }).catch(async () => undefined);
  return (await fs.readFile(file, 'utf8')).trim();
}
