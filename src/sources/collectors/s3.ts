import {
  GetBucketAclCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketLocationCommand,
  GetBucketLoggingCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  paginateListBuckets,
  S3Client,
  type Bucket,
  type Grant,
  type LifecycleRule,
} from '@aws-sdk/client-s3';
import { allPages, clientConfig, throttled, defineCollector, mapLimit, partition, tagRecord, type Run } from './common.js';

const TYPE = 'AWS::S3::Bucket';
/** Buckets described at once; each needs eight calls. */
const CONCURRENCY = 8;

export interface PolicyStatement {
  effect: 'Allow' | 'Deny';
  principal: string;
  actions: string[];
}

/**
 * The statements of a bucket policy, reduced to what rules read. `principal` is "*" when anyone is
 * named (`"*"`, `{"AWS": "*"}`, or "*" among several), else the first principal named. Conditions
 * are not kept (docs/POLICY-INPUT.md). Two negations are read fail-closed: a statement with
 * `NotPrincipal` applies to everyone but those named, so its principal is "*"; one with `NotAction`
 * covers every action but those named, so its actions are ["*"].
 */
export function policyStatements(policy: string): PolicyStatement[] {
  const document = JSON.parse(policy) as { Statement?: unknown };
  const raw = document.Statement === undefined ? [] : Array.isArray(document.Statement) ? document.Statement : [document.Statement];
  return raw.map((s) => {
    const statement = s as { Effect?: string; Principal?: unknown; NotPrincipal?: unknown; Action?: string | string[]; NotAction?: unknown };
    const effect = statement.Effect === 'Deny' ? 'Deny' : 'Allow';
    let principal: string;
    if (statement.NotPrincipal !== undefined) principal = '*';
    else principal = principalOf(statement.Principal);
    const actions = statement.NotAction !== undefined ? ['*'] : statement.Action === undefined ? [] : Array.isArray(statement.Action) ? statement.Action : [statement.Action];
    return { effect, principal, actions };
  });
}

/**
 * Whether a bucket policy refuses requests without TLS: a Deny to everyone ("*") of all S3 actions
 * (s3:* or *) under the condition aws:SecureTransport = false (the AWS Config rule
 * s3-bucket-ssl-requests-only's test).
 */
export function deniesInsecureTransport(policy: string): boolean {
  const document = JSON.parse(policy) as { Statement?: unknown };
  const raw = document.Statement === undefined ? [] : Array.isArray(document.Statement) ? document.Statement : [document.Statement];
  return raw.some((s) => {
    const statement = s as { Effect?: string; Principal?: unknown; Action?: string | string[]; Condition?: Record<string, Record<string, unknown>> };
    if (statement.Effect !== 'Deny' || principalOf(statement.Principal) !== '*') return false;
    const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
    if (!actions.some((a) => a === 's3:*' || a === '*')) return false;
    const secure = statement.Condition?.Bool?.['aws:SecureTransport'];
    return [secure].flat().some((v) => String(v).toLowerCase() === 'false');
  });
}

function principalOf(principal: unknown): string {
  if (principal === undefined || principal === null) return '';
  if (typeof principal === 'string') return principal;
  const named = Object.values(principal as Record<string, string | string[]>).flatMap((v) => (Array.isArray(v) ? v : [v]));
  const aws = (principal as { AWS?: string | string[] }).AWS;
  if ((Array.isArray(aws) ? aws : [aws]).includes('*')) return '*';
  return named.find((n) => typeof n === 'string') ?? '';
}

function aclGrants(grants: Grant[] | undefined) {
  return (grants ?? []).flatMap((grant) => {
    if (!grant.Permission) return [];
    const entry: { grantee_uri?: string; grantee_id?: string; permission: string } = { permission: grant.Permission };
    if (grant.Grantee?.URI) entry.grantee_uri = grant.Grantee.URI;
    if (grant.Grantee?.ID) entry.grantee_id = grant.Grantee.ID;
    return [entry];
  });
}

function lifecycleRules(rules: LifecycleRule[]) {
  return rules.map((rule) => ({
    id: rule.ID ?? '',
    enabled: rule.Status === 'Enabled',
    prefix: rule.Filter?.Prefix ?? rule.Filter?.And?.Prefix ?? rule.Prefix ?? '',
    expiration_days: rule.Expiration?.Days ?? null,
  }));
}

/** GetBucketLocation answers null or "" for us-east-1 and, for old buckets, "EU" for eu-west-1. */
export function bucketRegion(locationConstraint: string | undefined | null): string {
  if (!locationConstraint) return 'us-east-1';
  if (locationConstraint === 'EU') return 'eu-west-1';
  return locationConstraint;
}

async function describeBucket(run: Run, s3: S3Client, name: string): Promise<Record<string, unknown> | undefined> {
  const op = (action: string) => `s3:${action} (bucket ${name})`;
  const Bucket = name;
  const [acl, policy, publicAccessBlock, encryption, versioning, logging, lifecycle, tags] = await Promise.all([
    run.attempt(op('GetBucketAcl'), async () => aclGrants((await s3.send(new GetBucketAclCommand({ Bucket }))).Grants)),
    run.attempt(
      op('GetBucketPolicy'),
      async () => {
        const text = (await s3.send(new GetBucketPolicyCommand({ Bucket }))).Policy ?? '{}';
        return { statements: policyStatements(text), tls: deniesInsecureTransport(text) };
      },
      { notFound: { codes: ['NoSuchBucketPolicy'], value: { statements: [], tls: false } } },
    ),
    run.attempt(
      op('GetPublicAccessBlock'),
      async () => {
        const c = (await s3.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration ?? {};
        return normalisePublicAccessBlock(c);
      },
      { notFound: { codes: ['NoSuchPublicAccessBlockConfiguration'], value: null } },
    ),
    run.attempt(
      op('GetBucketEncryption'),
      async () => {
        const rules = (await s3.send(new GetBucketEncryptionCommand({ Bucket }))).ServerSideEncryptionConfiguration?.Rules ?? [];
        const byDefault = rules.find((r) => r.ApplyServerSideEncryptionByDefault)?.ApplyServerSideEncryptionByDefault;
        return byDefault?.SSEAlgorithm ? ({ algorithm: byDefault.SSEAlgorithm, kms_key_id: byDefault.KMSMasterKeyID ?? null } as Record<string, unknown> | null) : null;
      },
      { notFound: { codes: ['ServerSideEncryptionConfigurationNotFoundError'], value: null } },
    ),
    run.attempt(op('GetBucketVersioning'), async () => (await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status ?? 'Off'),
    run.attempt(op('GetBucketLogging'), async () => {
      const enabled = (await s3.send(new GetBucketLoggingCommand({ Bucket }))).LoggingEnabled;
      return enabled?.TargetBucket ? ({ target_bucket: enabled.TargetBucket, target_prefix: enabled.TargetPrefix ?? '' } as Record<string, string> | null) : null;
    }),
    run.attempt(op('GetBucketLifecycleConfiguration'), async () => lifecycleRules((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules ?? []), {
      notFound: { codes: ['NoSuchLifecycleConfiguration'], value: [] },
    }),
    run.attempt(op('GetBucketTagging'), async () => tagRecord((await s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet) ?? {}, { notFound: { codes: ['NoSuchTagSet'], value: {} } }),
  ]);
  // A bucket missing any part is left out rather than reported with a guess; its gap says why.
  if (acl === undefined || policy === undefined || publicAccessBlock === undefined || encryption === undefined) return undefined;
  if (versioning === undefined || logging === undefined || lifecycle === undefined || tags === undefined) return undefined;
  return {
    tags,
    acl_grants: acl,
    policy_statements: policy.statements,
    denies_insecure_transport: policy.tls,
    public_access_block: publicAccessBlock,
    encryption,
    versioning,
    logging,
    lifecycle_rules: lifecycle,
  };
}

/** A Block Public Access configuration (bucket or account level): unset flags are off. */
export function normalisePublicAccessBlock(c: { BlockPublicAcls?: boolean; IgnorePublicAcls?: boolean; BlockPublicPolicy?: boolean; RestrictPublicBuckets?: boolean }): Record<string, boolean> | null {
  return {
    block_public_acls: c.BlockPublicAcls === true,
    ignore_public_acls: c.IgnorePublicAcls === true,
    block_public_policy: c.BlockPublicPolicy === true,
    restrict_public_buckets: c.RestrictPublicBuckets === true,
  };
}

export const s3Collector = defineCollector({
  name: 's3',
  description:
    'S3 buckets of the region: ACL grants, bucket policy statements, public access block, default encryption, versioning, access logging, lifecycle rules, whether the policy denies requests without TLS, and tags (AWS::S3::Bucket).',
  permissions: [
    's3:ListAllMyBuckets',
    's3:GetBucketLocation',
    's3:GetBucketAcl',
    's3:GetBucketPolicy',
    's3:GetBucketPublicAccessBlock',
    's3:GetEncryptionConfiguration',
    's3:GetBucketVersioning',
    's3:GetBucketLogging',
    's3:GetLifecycleConfiguration',
    's3:GetBucketTagging',
  ],
  resourceTypes: [TYPE],
  async run(run) {
    const { context } = run;
    // followRegionRedirects: GetBucketLocation of a bucket in another region may answer with a redirect.
    const s3 = throttled(new S3Client({ ...clientConfig(context), followRegionRedirects: true, ...(context.aws.endpoint ? { forcePathStyle: true } : {}) }), context);
    try {
      const buckets = await run.attempt('s3:ListBuckets', () => allPages(paginateListBuckets({ client: s3 }, {}), (page) => page.Buckets));
      if (!buckets) return;
      const named = buckets.filter((b): b is Bucket & { Name: string } => typeof b.Name === 'string');
      // Only the buckets of this region: an estate source over several regions would otherwise
      // report every bucket once per region. ListBuckets lists the buckets of all regions.
      const regions = await mapLimit(named, CONCURRENCY, (bucket) =>
        run.attempt(`s3:GetBucketLocation (bucket ${bucket.Name})`, async () => bucketRegion((await s3.send(new GetBucketLocationCommand({ Bucket: bucket.Name }))).LocationConstraint)),
      );
      const local = named.filter((_, i) => regions[i] === context.region);
      const configurations = await mapLimit(local, CONCURRENCY, (bucket) => describeBucket(run, s3, bucket.Name));
      local.forEach((bucket, i) => {
        const configuration = configurations[i];
        if (!configuration) return;
        const { tags, ...rest } = configuration as { tags: Record<string, string> };
        run.resource(TYPE, bucket.Name, rest, { arn: `arn:${partition(context.region)}:s3:::${bucket.Name}`, tags });
      });
    } finally {
      s3.destroy();
    }
  },
});
