import { HttpProblem } from '../http/problem.js';

interface PgError {
  code?: string;
  constraint?: string;
  detail?: string;
  table?: string;
}

/** The API field behind each named constraint, so a violation can name what to fix. */
const CONSTRAINT_FIELDS: Record<string, string> = {
  api_keys_active_name_unique: 'name',
  classifications_name_unique: 'name',
  classifications_rank_unique: 'rank',
  domains_name_unique: 'name',
  masking_rules_name_unique: 'name',
  retention_policies_name_unique: 'name',
  assets_natural_key_unique: 'table',
  assets_domain_fk: 'domain',
  assets_classification_fk: 'classification',
  assets_retention_policy_fk: 'retention_policy',
  asset_columns_classification_fk: 'columns.classification',
  asset_columns_masking_rule_fk: 'columns.masking_rule',
  data_quality_rules_name_unique: 'name',
  data_quality_rules_asset_fk: 'asset_id',
  data_quality_rules_column_fk: 'column',
  compliance_records_requirement_unique: 'requirement_id',
  compliance_records_review_order: 'next_review_date',
  alerts_name_unique: 'name',
  policy_bundles_sha256_unique: 'bundle',
  sources_name_unique: 'name',
  principals_arn_unique: 'arn',
  principals_arn_format: 'arn',
  principals_domain_fk: 'domain',
  access_requests_principal_fk: 'principal',
  access_requests_domain_fk: 'domain',
  access_requests_duration_valid: 'duration_days',
  sources_target_unique: 'region',
  sources_account_id_format: 'account_id',
  sources_role_arn_format: 'role_arn',
};

function keyValue(detail: string | undefined): string {
  const match = /Key \((.+?)\)=\((.*?)\)/.exec(detail ?? '');
  return match ? `${match[1]} = ${match[2]}` : '';
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);

/**
 * The database cannot be reached (refused, reset, shutting down, out of connections, pool
 * timeout): a 503, so callers retry later and nothing mistakes it for a bug or a bad request.
 */
export function databaseUnavailable(error: unknown): HttpProblem | undefined {
  const e = error as { code?: string; name?: string; message?: string };
  const down =
    (typeof e?.code === 'string' && UNAVAILABLE_CODES.has(e.code)) ||
    e?.name === 'KnexTimeoutError' ||
    /Connection terminated|connection timeout|Client has encountered a connection error/i.test(String(e?.message ?? ''));
  return down ? new HttpProblem(503, 'database-unavailable', 'the database is unavailable; try again later') : undefined;
}

/**
 * Maps PostgreSQL integrity errors to client problems: duplicates and references still in use are
 * 409, references to things that do not exist and failed checks are 400. Returns undefined for
 * anything else, which stays a 500.
 */
export function describeDatabaseError(error: unknown): HttpProblem | undefined {
  const pg = error as PgError;
  if (typeof pg?.code !== 'string' || pg.code.length !== 5) return undefined;
  const field = (pg.constraint && CONSTRAINT_FIELDS[pg.constraint]) || pg.constraint || 'unknown';
  switch (pg.code) {
    case '23505':
      return new HttpProblem(409, 'duplicate', `an entry with the same ${field} already exists (${keyValue(pg.detail)})`);
    case '23503':
      if (pg.detail?.includes('is still referenced')) {
        return new HttpProblem(409, 'in-use', `cannot remove or rename: still referenced from ${/from table "(.+?)"/.exec(pg.detail)?.[1] ?? 'another table'}`);
      }
      return new HttpProblem(400, 'validation-error', `${field}: refers to something that does not exist (${keyValue(pg.detail)})`, [
        { location: 'body', field, message: 'refers to something that does not exist' },
      ]);
    case '23514':
    case '23502':
      return new HttpProblem(400, 'validation-error', `${field}: violates ${pg.constraint ?? 'a constraint'}`, [
        { location: 'body', field, message: `violates ${pg.constraint ?? 'a constraint'}` },
      ]);
    case '22P02':
    case '22007':
    case '22008':
    case '22003':
      return new HttpProblem(400, 'validation-error', 'a value is out of range or malformed');
    case '22021':
    case '22P05':
    case '54001':
      // NUL bytes and other characters PostgreSQL text cannot hold; structures nested too deep.
      return new HttpProblem(400, 'validation-error', 'a text value contains characters that cannot be stored (e.g. NUL) or is nested too deeply');
    default:
      return undefined;
  }
}
