import { createHash, randomBytes } from 'node:crypto';

/**
 * Generated keys carry 256 random bits, so a fast SHA-256 is enough to store them: there is nothing
 * to brute-force, unlike a password, and lookup by hash stays one index probe per request.
 */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateKey(): string {
  return `cus_${randomBytes(32).toString('base64url')}`;
}

/** Enough of the key to recognise it in a list, too little to use it. */
export function keyPrefix(key: string): string {
  return key.slice(0, 8);
}
