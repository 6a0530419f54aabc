import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { describeAwsError } from './aws.js';
import type { Pluggable } from '@smithy/types';
import { clientConfig } from './collectors/common.js';
import type { CollectorContext } from './types.js';

/**
 * The credentials a source resolves to reached another account than the one it is registered for
 * (a mislabelled source, a role ARN of the wrong account, default credentials of another account).
 * Collecting would label one account's state as another's; remediating would change the wrong
 * account. Both refuse.
 */
export class IdentityMismatch extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly arn: string,
  ) {
    super(`identity check: the credentials reach account ${actual} (${arn}), not the source's account ${expected}; refused, nothing read or changed`);
    this.name = 'IdentityMismatch';
  }
}

/** GetCallerIdentity could not answer: the identity is unknown, so nothing proceeds (fail closed). */
export class IdentityUnknown extends Error {
  constructor(cause: unknown) {
    super(`identity check: ${describeAwsError('sts:GetCallerIdentity', cause)}; refused, nothing read or changed`);
    this.name = 'IdentityUnknown';
  }
}

/**
 * Asks STS who the context's credentials are (after any role assumption) and throws unless it is
 * the expected account. The answer comes from AWS, not from the source's own registration, which is
 * what it checks.
 */
export async function assertAccount(aws: CollectorContext['aws'], expectedAccount: string, throttle?: Pluggable<any, any>): Promise<{ account: string; arn: string }> {
  const sts = new STSClient(clientConfig({ aws } as CollectorContext));
  if (throttle) sts.middlewareStack.use(throttle);
  let identity;
  try {
    identity = await sts.send(new GetCallerIdentityCommand({}));
  } catch (error) {
    throw new IdentityUnknown(error);
  } finally {
    sts.destroy();
  }
  const account = identity.Account ?? '';
  const arn = identity.Arn ?? '';
  if (account !== expectedAccount) throw new IdentityMismatch(expectedAccount, account || '(none)', arn || '(none)');
  return { account, arn };
}
