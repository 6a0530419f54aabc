import fs from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import { recordAudit, type AuditContext } from '../audit/repository.js';
import { createApiKey, hasAnyKey } from './repository.js';

export const SYSTEM: AuditContext = { actor: 'system:bootstrap', actorKeyId: null, role: 'system' };

/**
 * On an empty database, creates the first admin key: CUSTOS_ADMIN_KEY if given, else a random one
 * that is announced once and written to <dataDir>/admin-key (mode 0600). Safe with several instances
 * starting at once.
 */
export async function ensureFirstAdminKey(
  db: Knex,
  options: { adminKey?: string; dataDir: string; announce: (message: string) => void },
): Promise<'created' | 'existing'> {
  return db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', ['custos:bootstrap']);
    if (await hasAnyKey(trx)) return 'existing';
    const { apiKey, key } = await createApiKey(trx, {
      name: 'bootstrap-admin',
      role: 'admin',
      createdBy: SYSTEM.actor,
      // No issuer: its holder (the operator) is the key's own subject, which issues every key minted with it.
      createdBySubject: null,
      key: options.adminKey,
    });
    await recordAudit(trx, SYSTEM, { action: 'create', entity: 'api-keys', entityId: apiKey.id, newValue: apiKey });
    if (!options.adminKey) {
      const file = path.join(options.dataDir, 'admin-key');
      await fs.mkdir(options.dataDir, { recursive: true });
      await fs.writeFile(file, key + '\n', { mode: 0o600 });
      options.announce(`Custos created the first admin API key (shown once; also in ${file}): ${key}`);
    }
    return 'created';
  });
}
