import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { paginate, type Page, type PageParams } from '../db/pagination.js';
import type { Role } from '../http/schemas.js';
import { generateKey, hashKey, keyPrefix } from './keys.js';

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  subject: string;
  key_prefix: string;
  created_at: string;
  created_by: string;
  /** The subject that created (or rotated) the key and so saw it: one person with its subject for four eyes (src/auth/identity.ts). null: the bootstrap key, or not known. */
  created_by_subject: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
  expires_at: string | null;
  last_used_at: string | null;
  replaced_by: string | null;
  /** A pipeline key's principals: it asks access decisions about these only. null: unbound. */
  principals: string[] | null;
}

const PUBLIC_COLUMNS = ['id', 'name', 'role', 'subject', 'key_prefix', 'created_at', 'created_by', 'created_by_subject', 'revoked_at', 'revoked_by', 'expires_at', 'last_used_at', 'replaced_by', 'principals'];

export interface ApiKeyFilters extends PageParams {
  role?: Role;
  subject?: string;
  include_revoked?: boolean;
  /** true: pipeline keys bound to no principal (they may ask about any); false: bound ones. */
  unbound?: boolean;
}

/** Stores only the hash; the plaintext key is returned to the caller once and never again. */
export async function createApiKey(
  trx: Knex.Transaction,
  input: { name: string; role: Role; createdBy: string; createdBySubject: string | null; key?: string; subject?: string; expiresAt?: string | null; principals?: string[] | null },
): Promise<{ apiKey: ApiKey; key: string }> {
  const key = input.key ?? generateKey();
  const id = uuidv7();
  const [apiKey] = await trx('api_keys')
    .insert({
      id,
      // Unrelated keys are distinct people unless the admin says they belong to one subject.
      subject: input.subject ?? `key:${id}`,
      name: input.name,
      role: input.role,
      key_hash: hashKey(key),
      key_prefix: keyPrefix(key),
      created_by: input.createdBy,
      created_by_subject: input.createdBySubject,
      expires_at: input.expiresAt ?? null,
      principals: input.principals ?? null,
    })
    .returning(PUBLIC_COLUMNS);
  return { apiKey, key };
}

/** The key with this secret, revoked and expired ones included (so a 401 can say which it is). */
export async function findKey(db: Knex, key: string): Promise<ApiKey | undefined> {
  return db('api_keys').select(PUBLIC_COLUMNS).where({ key_hash: hashKey(key) }).first();
}

/** Records when keys were last used: one statement for a batch, never one write per request. */
export async function recordKeyUse(db: Knex, uses: Map<string, string>): Promise<void> {
  if (uses.size === 0) return;
  const rows = [...uses].map(([id, at]) => ({ id, at }));
  await db.raw(
    `UPDATE api_keys k SET last_used_at = u.at
       FROM json_to_recordset(?::json) AS u(id uuid, at timestamptz)
      WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`,
    [JSON.stringify(rows)],
  );
}

export async function getApiKey(db: Knex, id: string, forUpdate = false): Promise<ApiKey | undefined> {
  const query = db('api_keys').select(PUBLIC_COLUMNS).where({ id }).first();
  return forUpdate ? query.forUpdate() : query;
}

export async function listApiKeys(db: Knex, filters: ApiKeyFilters): Promise<Page<ApiKey>> {
  const query = db('api_keys').select(PUBLIC_COLUMNS);
  if (filters.role) query.where({ role: filters.role });
  if (filters.subject) query.where({ subject: filters.subject });
  if (filters.unbound !== undefined) query.where({ role: 'pipeline' })[filters.unbound ? 'whereNull' : 'whereNotNull']('principals');
  if (!filters.include_revoked) query.whereNull('revoked_at').where((q) => q.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now()));
  return paginate<ApiKey & Record<string, unknown>>(query, filters);
}

export async function revokeApiKey(trx: Knex.Transaction, id: string, revokedBy: string, replacedBy?: string): Promise<ApiKey> {
  const [apiKey] = await trx('api_keys')
    .update({ revoked_at: trx.fn.now(), revoked_by: revokedBy, ...(replacedBy ? { replaced_by: replacedBy } : {}) })
    .where({ id })
    .returning(PUBLIC_COLUMNS);
  return apiKey;
}

/** Replaces a key's principals (null: unbound). */
export async function setKeyPrincipals(trx: Knex.Transaction, id: string, principals: string[] | null): Promise<ApiKey> {
  const [apiKey] = await trx('api_keys').update({ principals }).where({ id }).returning(PUBLIC_COLUMNS);
  return apiKey;
}

export async function countActiveAdmins(trx: Knex.Transaction): Promise<number> {
  const row = await trx('api_keys')
    .where({ role: 'admin' })
    .whereNull('revoked_at')
    .where((q) => q.whereNull('expires_at').orWhere('expires_at', '>', trx.fn.now()))
    .count<{ count: number }>('* as count')
    .first();
  return Number(row?.count ?? 0);
}

export async function hasAnyKey(db: Knex): Promise<boolean> {
  return (await db('api_keys').first('id')) !== undefined;
}
