import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsThrottle } from './throttle.js';
import type { CollectorContext } from './types.js';

/** How many attempts the SDK's standard retry (exponential backoff with jitter) makes on throttling and 5xx. */
export const MAX_ATTEMPTS = 5;

export interface SourceTarget {
  account: string;
  region: string;
  /** Role to assume in the target account; without it, the default credential chain is used. */
  roleArn?: string | null;
}

/**
 * The client settings for one account and region. The endpoint comes from AWS_ENDPOINT_URL when set
 * (moto in tests, VPC endpoints in production); the SDK reads it too, but passing it explicitly keeps
 * one place that decides.
 */
export function collectorContext(target: SourceTarget, options: { endpoint?: string; now: number; since?: number; maxAttempts?: number; throttle?: AwsThrottle }): CollectorContext {
  // Every client of the context takes its tokens from this instance's bucket for (account, service).
  const throttle = options.throttle?.plugin(target.account);
  const credentials = target.roleArn
    ? fromTemporaryCredentials({
        params: { RoleArn: target.roleArn, RoleSessionName: 'custos-collector', DurationSeconds: 3600 },
        clientConfig: { region: target.region, ...(options.endpoint ? { endpoint: options.endpoint } : {}) },
        // The AssumeRole calls too (each client of a unit resolves its credentials, so a unit makes
        // one or more): they take tokens of the target account's STS bucket, which the unit's
        // GetCallerIdentity shares, so many units of one account do not burst STS.
        ...(throttle ? { clientPlugins: [throttle] } : {}),
      })
    : undefined;
  return {
    account: target.account,
    region: target.region,
    now: options.now,
    since: options.since,
    ...(throttle ? { throttle } : {}),
    aws: {
      region: target.region,
      ...(credentials ? { credentials } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      maxAttempts: options.maxAttempts ?? MAX_ATTEMPTS,
    },
  };
}

/** A short, single-line description of an AWS SDK error for run reports. */
export function describeAwsError(operation: string, error: unknown): string {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number; attempts?: number }; $response?: { statusCode?: number } };
  // An answer the SDK could not parse (an HTML error page, a proxy's text) is described for people,
  // not as the parser's complaint ("Unexpected token '<', "<!doctype "...").
  if (/Unexpected token|is not valid JSON|Deserialization error|Unexpected end of JSON|Non-whitespace before first tag|Invalid character in/i.test(e.message ?? '')) {
    const code = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
    const attempts = e.$metadata?.attempts ? ` after ${e.$metadata.attempts} attempt${e.$metadata.attempts === 1 ? '' : 's'}` : '';
    return `${operation} answered ${code ? `HTTP ${code}` : 'something'}${attempts} that is not an AWS API response (the endpoint may not implement this operation)`;
  }
  const status = e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode}` + (e.$metadata.attempts ? `, ${e.$metadata.attempts} attempts)` : ')') : '';
  return `${operation}: ${e.name ?? 'Error'}${status}: ${(e.message ?? String(error)).split('\n')[0]!.slice(0, 200)}`;
}
