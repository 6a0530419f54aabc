import type { Approvers } from '../changes/index.js';
import { RISK_OWNERS } from '../auth/roles.js';

/** What decides what a source collects. */
export interface SourceScope {
  name: string;
  account_id: string;
  region: string;
  services: string[];
  enabled: boolean;
}

/** Who approves a source collecting less: those who write sources (never the proposer). */
export const SOURCE_APPROVERS: Approvers = { roles: [...RISK_OWNERS], subjects: [] };

/**
 * Why `next` (null: deleted) collects less than `current`: a source that stops, moves away from its
 * account or region, or drops a collector leaves AWS state unseen, so findings there are never raised.
 * Four eyes (src/changes/): each reason makes the change a pending one. A disabled source collects
 * nothing, so changing or deleting it lowers nothing.
 */
export function collectsLess(current: SourceScope, next: SourceScope | null): string[] {
  if (!current.enabled) return [];
  const where = `account ${current.account_id} in ${current.region}`;
  if (next === null) return [`source ${current.name} is deleted: collection from ${where} stops`];
  if (!next.enabled) return [`source ${current.name} is disabled: collection from ${where} stops`];
  if (next.account_id !== current.account_id || next.region !== current.region) {
    return [`source ${current.name} moves to account ${next.account_id} in ${next.region}: collection from ${where} stops`];
  }
  const dropped = current.services.filter((s) => !next.services.includes(s));
  return dropped.length ? [`source ${current.name} stops collecting ${dropped.join(', ')} from ${where}`] : [];
}
