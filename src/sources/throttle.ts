import type { FinalizeHandler, FinalizeHandlerArguments, HandlerExecutionContext, Pluggable } from '@smithy/types';

/**
 * AWS throttles API calls per account and service (per region too, for most services; IAM is
 * global), and a throttled call costs a retry with backoff. Custos keeps below that with a token
 * bucket per (account, service) on each instance, shared by every client it builds for the
 * account, so one busy account never slows another (no global sleep) and units of one account
 * running at once share its budget. Each request attempt, retries included, takes a token.
 *
 * Hand-written rather than a package: the bucket is the arithmetic below and a FIFO of waiting
 * callers; the known packages (limiter, bottleneck) bring the same arithmetic with their own
 * timers and queues, and the registry per (account, service) would still be ours.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  /** The turn of the latest caller: each waits for the one before it (first come, first served). */
  private turn: Promise<void> = Promise.resolve();

  constructor(
    /** Tokens added per second. */
    readonly rate: number,
    /** Most tokens held (the burst); starts full. */
    readonly size: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(rate > 0) || !(size >= 1)) throw new RangeError('a token bucket needs a positive rate and a size of at least 1');
    this.tokens = size;
    this.last = now();
  }

  /** Resolves once a token is taken: at once when one is free, else when the rate has made one. */
  take(): Promise<void> {
    const mine = this.turn.then(() => this.wait());
    this.turn = mine;
    return mine;
  }

  /** Tokens free now (for tests and logs). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private refill() {
    const now = this.now();
    this.tokens = Math.min(this.size, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
  }

  private async wait(): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.rate))));
    }
  }
}

/** This instance's buckets, one per (account, service), made on first use with the configured rate. */
export class AwsThrottle {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    /** CUSTOS_AWS_REQUESTS_PER_SECOND: requests per second per account and service (the bucket holds one second's worth). */
    readonly ratePerSecond: number,
  ) {}

  bucket(account: string, service: string): TokenBucket {
    const key = `${account}|${service}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.ratePerSecond, Math.max(1, this.ratePerSecond));
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  /**
   * An SDK v3 plugin for the clients of one account: a middleware after the retry middleware (so it
   * runs for every attempt) that takes a token of (account, the client's service) before the request
   * is signed and sent.
   */
  plugin(account: string): Pluggable<any, any> {
    return {
      applyToStack: (stack) => {
        stack.addRelativeTo(
          (next: FinalizeHandler<any, any>, context: HandlerExecutionContext) => async (args: FinalizeHandlerArguments<any>) => {
            await this.bucket(account, String(context.clientName ?? 'unknown').replace(/Client$/, '')).take();
            return next(args);
          },
          { name: 'custosThrottleMiddleware', relation: 'after', toMiddleware: 'retryMiddleware', override: true },
        );
      },
    };
  }
}
