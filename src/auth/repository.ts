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
  revoked_at: string | null;
  revoked_by: string | null;
}

const PUBLIC_COLUMNS = ['id', 'name', 'role', 'subject', 'key_prefix', 'created_at', 'created_by', 'revoked_at', 'revoked_by'];

export interface ApiKeyFilters extends PageParams {
  role?: Role;
  subject?: string;
  include_revoked?: boolean;
}

/** Stores only the hash; the plaintext key is returned to the caller once and never again. */
export async function createApiKey(
  trx: Knex.Transaction,
  input: { name: string; role: Role; createdBy: string; key?: string; subject?: string },
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
    })
    .returning(PUBLIC_COLUMNS);
  return { apiKey, key };
}

export async function findActiveKey(db: Knex, key: string): Promise<ApiKey | undefined> {
  return db('api_keys').select(PUBLIC_COLUMNS).where({ key_hash: hashKey(key) }).whereNull('revoked_at').first();
}

export async function getApiKey(db: Knex, id: string, forUpdate = false): Promise<ApiKey | undefined> {
  const query = db('api_keys').select(PUBLIC_COLUMNS).where({ id }).first();
  return forUpdate ? query.forUpdate() : query;
}

export async function listApiKeys(db: Knex, filters: ApiKeyFilters): Promise<Page<ApiKey>> {
  const query = db('api_keys').select(PUBLIC_COLUMNS);
  if (filters.role) query.where({ role: filters.role });
  if (filters.subject) query.where({ subject: filters.subject });
  if (!filters.include_revoked) query.whereNull('revoked_at');
  return paginate<ApiKey & Record<string, unknown>>(query, filters);
}

export async function revokeApiKey(trx: Knex.Transaction, id: string, revokedBy: string): Promise<ApiKey> {
  const [apiKey] = await trx('api_keys')
    .update({ revoked_at: trx.fn.now(), revoked_by: revokedBy })
    .where({ id })
    .returning(PUBLIC_COLUMNS);
  return apiKey;
}

export async function countActiveAdmins(trx: Knex.Transaction): Promise<number> {
  const row = await trx('api_keys').where({ role: 'admin' }).whereNull('revoked_at').count<{ count: number }>('* as count').first();
  return Number(row?.count ?? 0);
}

export async function hasAnyKey(db: Knex): Promise<boolean> {
  return (await db('api_keys').first('id')) !== undefined;
}
