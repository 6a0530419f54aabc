import type { Pluggable } from '@smithy/types';
import { describeAwsError } from '../aws.js';
import type { CoverageEntry } from '../coverage.js';
import { emptyOutput, type Collector, type CollectorContext, type CollectorOutput, type NormalisedResource, type SourceSetting } from '../types.js';

/**
 * Settings every AWS client of a collector is built with: the context's region, credentials,
 * endpoint and attempts, the SDK's standard retry (exponential backoff with jitter on throttling,
 * 5xx and transient network errors), and timeouts so that an endpoint that accepts connections but
 * never answers becomes a gap instead of a run that hangs.
 */
export function clientConfig(context: CollectorContext) {
  return {
    ...context.aws,
    retryMode: 'standard' as const,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
  };
}

/**
 * The client with the context's throttle (this instance's token bucket for the account and the
 * client's service, src/sources/throttle.ts): every collector's clients are made through it.
 */
export function throttled<C extends { middlewareStack: { use(plugin: Pluggable<any, any>): void } }>(client: C, context: Pick<CollectorContext, 'throttle'>): C {
  if (context.throttle) client.middlewareStack.use(context.throttle);
  return client;
}

/** The error's name (the AWS error code for service errors). */
export function errorName(error: unknown): string | undefined {
  return (error as { name?: string } | undefined)?.name;
}

export function isError(error: unknown, ...names: string[]): boolean {
  const name = errorName(error);
  const code = (error as { Code?: string } | undefined)?.Code;
  return names.some((n) => n === name || n === code);
}

/** How `Run.attempt` treats a failure: error codes that are data, and which declared types it leaves incomplete. */
export interface AttemptOptions<T> {
  /** Error codes that mean "not configured": data, for which `value` is returned and no gap recorded. */
  notFound?: { codes: string[]; value: T };
  /** The declared resource types a failure leaves incomplete; default: all of the collector's (fail closed). */
  types?: readonly string[];
}

/** What one collector writes to while it runs; `attempt` records failures as gaps and incomplete coverage. */
export class Run {
  readonly output: CollectorOutput = emptyOutput();
  private readonly incompleteTypes = new Map<string, string>();
  constructor(
    readonly context: CollectorContext,
    readonly resourceTypes: readonly string[] = [],
  ) {}

  /**
   * Runs one AWS operation (with its pagination). A failure, after the SDK's own retries, becomes a
   * gap, leaves `options.types` (default: every declared type) incomplete, and returns `undefined`.
   */
  async attempt<T>(operation: string, call: () => Promise<T>, options: AttemptOptions<T> = {}): Promise<T | undefined> {
    try {
      return await call();
    } catch (error) {
      if (options.notFound && isError(error, ...options.notFound.codes)) return options.notFound.value;
      const gap = describeAwsError(operation, error);
      this.output.gaps.push(gap);
      this.incomplete(options.types ?? this.resourceTypes, gap);
      return undefined;
    }
  }

  /**
   * Marks declared types as not completely listed, with the reason, without a gap: e.g. an
   * incremental Security Hub run lists only the findings updated since its `since`.
   */
  incomplete(types: readonly string[], reason: string): void {
    for (const type of types) if (!this.incompleteTypes.has(type)) this.incompleteTypes.set(type, reason);
  }

  /** One entry per declared type: complete unless something marked it incomplete. */
  coverage(): CoverageEntry[] {
    return this.resourceTypes.map((resource_type) => {
      const reason = this.incompleteTypes.get(resource_type);
      return reason === undefined ? { resource_type, complete: true } : { resource_type, complete: false, reason };
    });
  }

  resource(type: string, id: string, configuration: Record<string, unknown>, extra: { arn?: string; tags?: Record<string, string> } = {}): NormalisedResource {
    // A type the collector did not declare would be evaluated without coverage: a bug, not data.
    if (!this.resourceTypes.includes(type)) throw new Error(`resource type ${type} is not among the collector's declared resourceTypes`);
    const resource: NormalisedResource = { type, id, account: this.context.account, region: this.context.region, configuration };
    if (extra.arn) resource.arn = extra.arn;
    if (extra.tags && Object.keys(extra.tags).length > 0) resource.tags = extra.tags;
    this.output.resources.push(resource);
    return resource;
  }

  setting(key: string, value: unknown): SourceSetting {
    const setting = { key, account: this.context.account, region: this.context.region, value };
    this.output.settings.push(setting);
    return setting;
  }
}

/**
 * A collector whose `collect` never throws: AWS failures are gaps recorded by `Run.attempt`, and
 * anything unexpected (a bug, an answer of a shape nobody expected) ends the collector early with a
 * gap, keeping what it had collected and leaving every declared type incomplete.
 */
export function defineCollector(spec: { name: string; description: string; permissions: string[]; resourceTypes: readonly string[]; run(run: Run): Promise<void> }): Collector {
  return {
    name: spec.name,
    description: spec.description,
    permissions: spec.permissions,
    resourceTypes: spec.resourceTypes,
    async collect(context) {
      const run = new Run(context, spec.resourceTypes);
      try {
        await spec.run(run);
      } catch (error) {
        const gap = describeAwsError(`${spec.name} collector`, error);
        run.output.gaps.push(gap);
        run.incomplete(spec.resourceTypes, gap);
      }
      run.output.coverage = run.coverage();
      return run.output;
    },
  };
}

/** Collects every item of every page of an SDK paginator. */
export async function allPages<P, T>(pages: AsyncIterable<P>, items: (page: P) => T[] | undefined): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(...(items(page) ?? []));
  return all;
}

/** Maps with at most `limit` calls in flight, keeping the order of `items`. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The ARN partition of a region. */
export function partition(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** Whole seconds since the epoch of a Date or an ISO 8601 string; undefined when absent or unreadable. */
export function epochSeconds(value: Date | string | undefined | null): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/** EC2/RDS-style tag lists ({Key, Value}) as a record. */
export function tagRecord(tags: Array<{ Key?: string; Value?: string }> | undefined): Record<string, string> | undefined {
  if (!tags || tags.length === 0) return undefined;
  const record: Record<string, string> = {};
  for (const tag of tags) if (tag.Key !== undefined) record[tag.Key] = tag.Value ?? '';
  return record;
}
