import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64. */
export const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

export interface ChannelSecret {
  secret: string;
  previous_secret: string | null;
  previous_valid_until: Date | string | null;
}

/**
 * The `webhook-signature` header: `v1,<HMAC-SHA256>` with the current secret and, for a day after a
 * rotation, also with the previous one (space-separated, as the Standard Webhooks scheme allows), so
 * receivers can switch secrets without dropping messages.
 */
export function signatureHeader(secrets: ChannelSecret, messageId: string, at: Date, body: string): string {
  const keys = [secrets.secret];
  if (secrets.previous_secret && secrets.previous_valid_until && new Date(secrets.previous_valid_until) > at) keys.push(secrets.previous_secret);
  return keys.map((key) => new Webhook(key).sign(messageId, at, body)).join(' ');
}
