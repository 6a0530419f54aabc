import { createPrivateKey } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import path from 'node:path';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as zxcvbnCommon from '@zxcvbn-ts/language-common';

// The AWS SDK warns on Node below 22 that its versions published after January 2027 will need 22.
// The installed SDK declares node >=20, which test/engines.test.ts checks against our `engines`, so
// the warning describes no problem of this install; it would only be noise on every first AWS call.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  port: number;
  host: string;
  /** Unset: Custos runs its own embedded PostgreSQL in `<dataDir>/pg`. */
  databaseUrl?: string;
  /** MIGRATION_DATABASE_URL: the owner role that runs migrations; DATABASE_URL is then the runtime role. */
  migrationDatabaseUrl?: string;
  dataDir: string;
  /** As root: where the PostgreSQL binaries and clusters the postgres user must reach are prepared when it cannot reach them where they are. */
  pgRuntimeDir?: string;
  /** Becomes the first admin key on an empty database. */
  adminKey?: string;
  logLevel: LogLevel;
  awsRegion?: string;
  awsEndpointUrl?: string;
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  /** Cron expression for scheduled collections over all enabled sources (unset: none). */
  collectionSchedule?: string;
  /** Attempts per AWS call (the SDK's standard retry with backoff), default 5. */
  awsMaxAttempts: number;
  /** CUSTOS_AWS_REQUESTS_PER_SECOND: AWS requests per second per account and service on each instance (a token bucket), default 20. */
  awsRequestsPerSecond: number;
  /** CUSTOS_COLLECTION_CONCURRENCY: collection units (source × service) each instance collects at once, default 4. */
  collectionConcurrency: number;
  /** CUSTOS_COLLECTION_UNIT_TIMEOUT_SECONDS: how long one attempt of a unit may take before another instance retries it, default 900. */
  collectionUnitTimeoutSeconds: number;
  /** CUSTOS_AUTO_REMEDIATE: remediate low-risk findings of rules that allow it after each evaluation (off by default). */
  autoRemediate: boolean;
  /** CUSTOS_REMEDIATION_APPROVAL_HOURS: how long a remediation approval is valid, default 24. */
  remediationApprovalHours: number;
  /** CUSTOS_CHECKPOINT_DIR: where signed chain checkpoints go when there is no evidence bucket; default <data dir>/checkpoints. */
  checkpointDir?: string;
  /** CUSTOS_CHECKPOINT_SCHEDULE: cron of the chain checkpoints, default every 15 minutes. */
  checkpointSchedule: string;
  /** CUSTOS_PENDING_CHANGE_HOURS: how long a protection-lowering change waits for its second person, default 168 (7 days). */
  pendingChangeHours: number;
  /** CUSTOS_REMEDIATION_STEP_DELAY_MS: test-only pause before each remediation change in AWS, default 0. */
  remediationStepDelayMs: number;
  /** Ed25519 private key (PEM) that signs evidence export manifests; unset: one kept in the data dir. */
  signingKey?: string;
  /** S3 bucket for evidence bodies (SSE-KMS); unset: bodies stay in PostgreSQL. */
  evidenceBucket?: string;
  /** KMS key for the evidence bucket's objects; unset: the bucket's default aws:kms key. */
  evidenceKmsKeyId?: string;
  /** CUSTOS_DECISION_LOG_RETENTION_DAYS: whole months of decisions older than this are dropped, default 400 (at least 90). */
  decisionLogRetentionDays: number;
  /** CUSTOS_WEBHOOK_ALLOW_HOSTS: webhook hosts allowed although private or loopback (tests only). */
  webhookAllowHosts: string[];
  /** CUSTOS_WEBHOOK_CA_FILE: a PEM CA trusted for webhook TLS besides the system roots (a private CA). */
  webhookCaFile?: string;
  /** CUSTOS_ALERT_EMAIL_FROM: the SES-verified sender of email alerts. */
  alertEmailFrom?: string;
  /** CUSTOS_PUBLIC_URL: where people reach Custos: base of the links in alert messages (default http://HOST:PORT), the OIDC redirect URI <publicUrl>/auth/callback, https → Secure cookies. */
  publicUrl?: string;
  /** CUSTOS_ALERT_DELIVERY_ATTEMPTS: attempts per notification before the dead letter, default 8. */
  alertDeliveryAttempts: number;
  /** CUSTOS_ALERT_RETRY_BASE_MS: first retry delay, doubled each time (capped at an hour), default 30000. */
  alertRetryBaseMs: number;
  /** CUSTOS_ALERT_DELIVERY_TIMEOUT_MS: how long one delivery attempt may take, default 10000. */
  alertDeliveryTimeoutMs: number;
  /** CUSTOS_POLICY_WORKERS: threads evaluating decisions; unset: one per CPU but one, at least one. */
  policyWorkers?: number;
  /** CUSTOS_POLICY_BUDGET_MS: most time one message of decisions may take before its thread is replaced (deny/503), default 2000. */
  policyBudgetMs: number;
  /** CUSTOS_AUTH_FAILURE_LIMIT: failed authentications one client (IP address) may make per window before it gets 429, default 20. */
  authFailureLimit: number;
  /** CUSTOS_AUTH_FAILURE_WINDOW_SECONDS: that window, default 60. */
  authFailureWindowSeconds: number;
  /** CUSTOS_OIDC_*: the identity provider people sign in with; unset issuer: no SSO. */
  oidc?: { issuer: string; clientId: string; clientSecret?: string; rolesClaim: string };
  /** CUSTOS_SESSION_IDLE_MINUTES (default 30) and CUSTOS_SESSION_MAX_HOURS (default 12). */
  sessionIdleMinutes: number;
  sessionMaxHours: number;
}

/**
 * The least number of guesses (log10) zxcvbn may estimate for CUSTOS_ADMIN_KEY. zxcvbn counts a
 * random character as 10 guesses, so a random 24-character key estimates about 10^24 and the old
 * test key "test-admin-key-0123456789abcdef" (words and sequences) about 10^18; 32 times "a", 10^2.6.
 */
export const MIN_ADMIN_KEY_GUESSES_LOG10 = 20;

let estimator: ZxcvbnFactory | undefined;

/** zxcvbn's estimate of how many guesses find `key` (log10); its dictionaries are loaded on first use. */
export function keyGuessesLog10(key: string): number {
  estimator ??= new ZxcvbnFactory({ dictionary: zxcvbnCommon.dictionary, graphs: zxcvbnCommon.adjacencyGraphs });
  return estimator.check(key).guessesLog10;
}

/** Failed authentications per client and window before 429 (CUSTOS_AUTH_FAILURE_LIMIT). */
export const DEFAULT_AUTH_FAILURE_LIMIT = 20;

/** Thrown for invalid configuration; the message is one line naming the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`invalid configuration: ${variable} ${problem}`);
  }
}

type Env = Record<string, string | undefined>;

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function parsePort(env: Env): number {
  const raw = nonEmpty(env, 'PORT');
  if (raw === undefined) return 8080;
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) {
    throw new ConfigError('PORT', `must be an integer from 0 to 65535, got "${raw}"`);
  }
  return Number(raw);
}

function parseUrl(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got ${url.protocol}`);
  }
  return raw;
}

/** HOST must be an address or a name that resolves, checked before anything is created. */
export async function checkHost(host: string): Promise<void> {
  if (net.isIP(host)) return;
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(host)) {
    throw new ConfigError('HOST', `must be an IP address or a host name, got "${host}"`);
  }
  try {
    await lookup(host);
  } catch {
    throw new ConfigError('HOST', `must be an IP address or a host name that resolves, got "${host}" (e.g. 127.0.0.1, or 0.0.0.0 in a container)`);
  }
}

function parseSigningKey(env: Env): string | undefined {
  const raw = nonEmpty(env, 'CUSTOS_SIGNING_KEY');
  if (raw === undefined) return undefined;
  let type: string | undefined;
  try {
    type = createPrivateKey(raw.replace(/\\n/g, '\n')).asymmetricKeyType;
  } catch {
    throw new ConfigError('CUSTOS_SIGNING_KEY', 'is not a PEM private key (an Ed25519 key in PKCS#8: openssl genpkey -algorithm ed25519)');
  }
  if (type !== 'ed25519') throw new ConfigError('CUSTOS_SIGNING_KEY', `must be an Ed25519 key, got ${type}`);
  return raw;
}

/** Reads and validates the environment. Throws ConfigError on the first invalid variable. */
export function loadConfig(env: Env = process.env): Config {
  const logLevel = (nonEmpty(env, 'LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const adminKey = nonEmpty(env, 'CUSTOS_ADMIN_KEY');
  if (adminKey !== undefined && (adminKey.length < 24 || /\s/.test(adminKey))) {
    throw new ConfigError('CUSTOS_ADMIN_KEY', 'must be at least 24 characters without spaces');
  }
  if (adminKey !== undefined && keyGuessesLog10(adminKey) < MIN_ADMIN_KEY_GUESSES_LOG10) {
    throw new ConfigError(
      'CUSTOS_ADMIN_KEY',
      `is too easy to guess (repeats, sequences, keyboard runs or common words: about 10^${Math.floor(keyGuessesLog10(adminKey))} guesses, at least 10^${MIN_ADMIN_KEY_GUESSES_LOG10} needed): use a random one, e.g. openssl rand -base64 32`,
    );
  }
  const awsRegion = nonEmpty(env, 'AWS_REGION');
  if (awsRegion !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(awsRegion)) {
    throw new ConfigError('AWS_REGION', `is not an AWS region name, got "${awsRegion}"`);
  }
  const bodyLimitRaw = nonEmpty(env, 'CUSTOS_BODY_LIMIT');
  if (bodyLimitRaw !== undefined && !/^\d+$/.test(bodyLimitRaw)) {
    throw new ConfigError('CUSTOS_BODY_LIMIT', 'must be a number of bytes');
  }
  const collectionSchedule = nonEmpty(env, 'CUSTOS_COLLECTION_SCHEDULE');
  if (collectionSchedule !== undefined && !/^(\S+\s+){4}\S+$/.test(collectionSchedule)) {
    throw new ConfigError('CUSTOS_COLLECTION_SCHEDULE', `must be a 5-field cron expression, e.g. "0 */6 * * *", got "${collectionSchedule}"`);
  }
  const attempts = nonEmpty(env, 'CUSTOS_AWS_MAX_ATTEMPTS') ?? '5';
  if (!/^[1-9][0-9]?$/.test(attempts)) throw new ConfigError('CUSTOS_AWS_MAX_ATTEMPTS', `must be an integer from 1 to 99, got "${attempts}"`);
  const evidenceBucket = nonEmpty(env, 'CUSTOS_EVIDENCE_BUCKET');
  if (evidenceBucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(evidenceBucket)) {
    throw new ConfigError('CUSTOS_EVIDENCE_BUCKET', `is not an S3 bucket name, got "${evidenceBucket}"`);
  }
  const autoRemediate = nonEmpty(env, 'CUSTOS_AUTO_REMEDIATE') ?? 'false';
  if (!['true', 'false'].includes(autoRemediate)) throw new ConfigError('CUSTOS_AUTO_REMEDIATE', `must be true or false, got "${autoRemediate}"`);
  const approvalHours = nonEmpty(env, 'CUSTOS_REMEDIATION_APPROVAL_HOURS') ?? '24';
  if (!/^[1-9][0-9]{0,2}$/.test(approvalHours)) throw new ConfigError('CUSTOS_REMEDIATION_APPROVAL_HOURS', `must be an integer from 1 to 999, got "${approvalHours}"`);
  const pendingHours = nonEmpty(env, 'CUSTOS_PENDING_CHANGE_HOURS') ?? '168';
  if (!/^[1-9][0-9]{0,3}$/.test(pendingHours)) throw new ConfigError('CUSTOS_PENDING_CHANGE_HOURS', `must be an integer from 1 to 9999, got "${pendingHours}"`);
  const stepDelay = nonEmpty(env, 'CUSTOS_REMEDIATION_STEP_DELAY_MS') ?? '0';
  if (!/^[0-9]{1,5}$/.test(stepDelay)) throw new ConfigError('CUSTOS_REMEDIATION_STEP_DELAY_MS', `must be a number of milliseconds up to 99999, got "${stepDelay}"`);
  const retention = nonEmpty(env, 'CUSTOS_DECISION_LOG_RETENTION_DAYS') ?? '400';
  if (!/^[0-9]{1,5}$/.test(retention) || Number(retention) < 90) throw new ConfigError('CUSTOS_DECISION_LOG_RETENTION_DAYS', `must be a number of days from 90 to 99999, got "${retention}"`);
  const integer = (name: string, fallback: string, min: number, max: number) => {
    const raw = nonEmpty(env, name) ?? fallback;
    if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new ConfigError(name, `must be an integer from ${min} to ${max}, got "${raw}"`);
    return Number(raw);
  };
  const alertEmailFrom = nonEmpty(env, 'CUSTOS_ALERT_EMAIL_FROM');
  if (alertEmailFrom !== undefined && !/^[^\s@]+@[^\s@]+$/.test(alertEmailFrom)) throw new ConfigError('CUSTOS_ALERT_EMAIL_FROM', `is not an email address, got "${alertEmailFrom}"`);
  const publicUrl = parseUrl(env, 'CUSTOS_PUBLIC_URL', ['http:', 'https:'])?.replace(/\/+$/, '');
  const workers = nonEmpty(env, 'CUSTOS_POLICY_WORKERS');
  if (workers !== undefined && !/^([1-9]|[1-5][0-9]|6[0-4])$/.test(workers)) throw new ConfigError('CUSTOS_POLICY_WORKERS', `must be an integer from 1 to 64, got "${workers}"`);
  const budget = nonEmpty(env, 'CUSTOS_POLICY_BUDGET_MS') ?? '2000';
  if (!/^[1-9][0-9]{1,5}$/.test(budget)) throw new ConfigError('CUSTOS_POLICY_BUDGET_MS', `must be a number of milliseconds from 10 to 999999, got "${budget}"`);
  const issuer = parseUrl(env, 'CUSTOS_OIDC_ISSUER', ['http:', 'https:']);
  const clientId = nonEmpty(env, 'CUSTOS_OIDC_CLIENT_ID');
  if (issuer && !clientId) throw new ConfigError('CUSTOS_OIDC_CLIENT_ID', 'is required when CUSTOS_OIDC_ISSUER is set');
  const rolesClaim = nonEmpty(env, 'CUSTOS_OIDC_ROLES_CLAIM') ?? 'groups';
  if (!/^[A-Za-z0-9_:./-]{1,100}$/.test(rolesClaim)) throw new ConfigError('CUSTOS_OIDC_ROLES_CLAIM', `must be a claim name, got "${rolesClaim}"`);
  const idle = nonEmpty(env, 'CUSTOS_SESSION_IDLE_MINUTES') ?? '30';
  if (!/^[1-9][0-9]{0,3}$/.test(idle)) throw new ConfigError('CUSTOS_SESSION_IDLE_MINUTES', `must be an integer from 1 to 9999, got "${idle}"`);
  const maxHours = nonEmpty(env, 'CUSTOS_SESSION_MAX_HOURS') ?? '12';
  if (!/^[1-9][0-9]{0,2}$/.test(maxHours)) throw new ConfigError('CUSTOS_SESSION_MAX_HOURS', `must be an integer from 1 to 999, got "${maxHours}"`);
  return {
    policyWorkers: workers === undefined ? undefined : Number(workers),
    policyBudgetMs: Number(budget),
    decisionLogRetentionDays: Number(retention),
    webhookAllowHosts: (nonEmpty(env, 'CUSTOS_WEBHOOK_ALLOW_HOSTS') ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
    webhookCaFile: nonEmpty(env, 'CUSTOS_WEBHOOK_CA_FILE'),
    alertEmailFrom,
    publicUrl,
    alertDeliveryAttempts: integer('CUSTOS_ALERT_DELIVERY_ATTEMPTS', '8', 1, 50),
    alertRetryBaseMs: integer('CUSTOS_ALERT_RETRY_BASE_MS', '30000', 10, 3_600_000),
    alertDeliveryTimeoutMs: integer('CUSTOS_ALERT_DELIVERY_TIMEOUT_MS', '10000', 100, 120_000),
    authFailureLimit: integer('CUSTOS_AUTH_FAILURE_LIMIT', String(DEFAULT_AUTH_FAILURE_LIMIT), 1, 1_000_000),
    authFailureWindowSeconds: integer('CUSTOS_AUTH_FAILURE_WINDOW_SECONDS', '60', 1, 86_400),
    oidc: issuer ? { issuer, clientId: clientId!, clientSecret: nonEmpty(env, 'CUSTOS_OIDC_CLIENT_SECRET'), rolesClaim } : undefined,
    sessionIdleMinutes: Number(idle),
    sessionMaxHours: Number(maxHours),
    autoRemediate: autoRemediate === 'true',
    remediationApprovalHours: Number(approvalHours),
    pendingChangeHours: Number(pendingHours),
    checkpointDir: nonEmpty(env, 'CUSTOS_CHECKPOINT_DIR'),
    checkpointSchedule: nonEmpty(env, 'CUSTOS_CHECKPOINT_SCHEDULE') ?? '*/15 * * * *',
    remediationStepDelayMs: Number(stepDelay),
    collectionSchedule,
    signingKey: parseSigningKey(env),
    evidenceBucket,
    evidenceKmsKeyId: nonEmpty(env, 'CUSTOS_EVIDENCE_KMS_KEY_ID'),
    awsMaxAttempts: Number(attempts),
    awsRequestsPerSecond: integer('CUSTOS_AWS_REQUESTS_PER_SECOND', '20', 1, 10_000),
    collectionConcurrency: integer('CUSTOS_COLLECTION_CONCURRENCY', '4', 1, 64),
    collectionUnitTimeoutSeconds: integer('CUSTOS_COLLECTION_UNIT_TIMEOUT_SECONDS', '900', 5, 86_400),
    port: parsePort(env),
    host: nonEmpty(env, 'HOST') ?? '127.0.0.1',
    databaseUrl: parseUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    migrationDatabaseUrl: parseUrl(env, 'MIGRATION_DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: path.resolve(nonEmpty(env, 'CUSTOS_DATA_DIR') ?? './var'),
    pgRuntimeDir: nonEmpty(env, 'CUSTOS_PG_RUNTIME_DIR'),
    adminKey,
    logLevel,
    awsRegion,
    awsEndpointUrl: parseUrl(env, 'AWS_ENDPOINT_URL', ['http:', 'https:']),
    bodyLimit: bodyLimitRaw === undefined ? 1024 * 1024 : Number(bodyLimitRaw),
  };
}
