import type { Static } from '@sinclair/typebox';
import type { AwsCredentialIdentityProvider, Pluggable } from '@smithy/types';
import type { Finding, LakeFormationPermission, Resource } from '../policy/input.js';
import type { CoverageEntry } from './coverage.js';

export type NormalisedResource = Static<typeof Resource>;
export type NormalisedFinding = Static<typeof Finding>;
export type NormalisedPermission = Static<typeof LakeFormationPermission>;

/** A setting that is not a resource (recorder status, data lake admins, enabled standards, LF-tags...). */
export interface SourceSetting {
  /** e.g. config.recorder_status, lakeformation.settings, securityhub.standards, lakeformation.lf_tags */
  key: string;
  account: string;
  region: string;
  value: unknown;
}

/** What one collector saw in one account and region. */
export interface CollectorOutput {
  resources: NormalisedResource[];
  findings: NormalisedFinding[];
  permissions: NormalisedPermission[];
  settings: SourceSetting[];
  /**
   * Problems that left the output incomplete (an operation failed or is unavailable). Any entry
   * makes the run `partial`: downstream never treats what is missing as compliant.
   */
  gaps: string[];
  /**
   * One entry per resource type the collector declares: complete when it listed every resource of
   * that type in the account and region, else why not. Only a complete listing lets an evaluation
   * resolve findings of that type or call a rule tested (docs/ARCHITECTURE.md, "Coverage and resolution").
   */
  coverage: CoverageEntry[];
}

/** Where and as whom a collector runs. Clients built from `aws` honour AWS_ENDPOINT_URL and retry with backoff. */
export interface CollectorContext {
  account: string;
  region: string;
  aws: {
    region: string;
    credentials?: AwsCredentialIdentityProvider;
    endpoint?: string;
    maxAttempts: number;
  };
  /** The instance's token bucket for the account, as an SDK plugin (src/sources/throttle.ts); clients get it through `throttled`. */
  throttle?: Pluggable<any, any>;
  /** Incremental Security Hub runs: only findings updated since then (epoch seconds). */
  since?: number;
  /** Evaluation time for normalising ("now"), epoch seconds. */
  now: number;
  /**
   * The tables the metadata repository catalogues: the Lake Formation collector reads their LF-tags
   * when LF-tag policy permissions exist, so those permissions can be judged against restricted columns.
   */
  catalogTables?: Array<{ database: string; table: string }>;
}

/** One kind of collector, as Cloud Custodian registers plugins: name, what it needs, what it does. */
export interface Collector {
  name: string;
  description: string;
  /** The IAM actions the role Custos assumes needs for this collector. */
  permissions: string[];
  /**
   * The resource types it lists (Security Hub findings count as AWS::SecurityHub::Finding, Lake
   * Formation permissions as AWS::LakeFormation::Permission). Its output's `coverage` has one entry
   * for each; it emits no resource of another type.
   */
  resourceTypes: readonly string[];
  collect(context: CollectorContext): Promise<CollectorOutput>;
}

export const emptyOutput = (): CollectorOutput => ({ resources: [], findings: [], permissions: [], settings: [], gaps: [], coverage: [] });
