import { GenerateCredentialReportCommand, GetAccountPasswordPolicyCommand, GetAccountSummaryCommand, GetCredentialReportCommand, IAMClient } from '@aws-sdk/client-iam';
import { clientConfig, throttled, defineCollector, epochSeconds, isError } from './common.js';

const NO_POLICY = {
  present: false,
  minimum_password_length: 0,
  require_symbols: false,
  require_numbers: false,
  require_uppercase_characters: false,
  require_lowercase_characters: false,
  password_reuse_prevention: null,
  max_password_age: null,
};

/** A credential report time: ISO 8601, or N/A, no_information, not_supported (none). */
const reportTime = (value: string | undefined) => (value && /^\d{4}-/.test(value) ? (epochSeconds(value) ?? null) : null);

/**
 * The IAM credential report (CSV) as AWS::IAM::User resources, and the root row's access keys. Each
 * user: console access (password_enabled), MFA, when the password was last used, and each access
 * key: active, last rotated, last used. Times are epoch seconds or null (never / not applicable).
 */
export function parseCredentialReport(csv: string) {
  const [header, ...rows] = csv.trim().split(/\r?\n/).map((line) => line.split(','));
  const users: Array<{ name: string; arn: string; configuration: Record<string, unknown> }> = [];
  let rootAccessKeys = false;
  for (const row of rows) {
    const field = (name: string) => row[header!.indexOf(name)];
    const keys = [1, 2].map((n) => ({
      active: field(`access_key_${n}_active`) === 'true',
      last_rotated: reportTime(field(`access_key_${n}_last_rotated`)),
      last_used: reportTime(field(`access_key_${n}_last_used_date`)),
    }));
    if (field('user') === '<root_account>') {
      rootAccessKeys = keys.some((k) => k.active);
      continue;
    }
    users.push({
      name: field('user') ?? '',
      arn: field('arn') ?? '',
      configuration: {
        created: reportTime(field('user_creation_time')),
        password_enabled: field('password_enabled') === 'true',
        password_last_used: reportTime(field('password_last_used')),
        mfa_active: field('mfa_active') === 'true',
        access_keys: keys.filter((k) => k.active || k.last_rotated !== null),
      },
    });
  }
  return { users, rootAccessKeys };
}

/**
 * IAM is global: the same answer comes from every region. The resources carry the context's region
 * like every other, so a source collected in several regions should run this collector in one.
 */
export const iamCollector = defineCollector({
  name: 'iam',
  description:
    'The account password policy (AWS::IAM::PasswordPolicy), whether the root user has MFA and access keys (AWS::IAM::AccountSummary; both with the account id as id), and every IAM user from the credential report: console access, MFA, access key age and use (AWS::IAM::User).',
  permissions: ['iam:GetAccountPasswordPolicy', 'iam:GetAccountSummary', 'iam:GenerateCredentialReport', 'iam:GetCredentialReport'],
  resourceTypes: ['AWS::IAM::PasswordPolicy', 'AWS::IAM::AccountSummary', 'AWS::IAM::User'],
  async run(run) {
    const { context } = run;
    const iam = throttled(new IAMClient(clientConfig(context)), context);
    try {
      const policy = await run.attempt(
        'iam:GetAccountPasswordPolicy',
        async () => {
          const p = (await iam.send(new GetAccountPasswordPolicyCommand({}))).PasswordPolicy ?? {};
          return {
            present: true,
            minimum_password_length: p.MinimumPasswordLength ?? 0,
            require_symbols: p.RequireSymbols === true,
            require_numbers: p.RequireNumbers === true,
            require_uppercase_characters: p.RequireUppercaseCharacters === true,
            require_lowercase_characters: p.RequireLowercaseCharacters === true,
            password_reuse_prevention: p.PasswordReusePrevention ?? null,
            // AWS leaves it out when passwords never expire (moto answers 0 then).
            max_password_age: p.MaxPasswordAge ? p.MaxPasswordAge : null,
          };
        },
        // The account has no password policy: data, not a failure.
        { notFound: { codes: ['NoSuchEntity', 'NoSuchEntityException'], value: NO_POLICY }, types: ['AWS::IAM::PasswordPolicy'] },
      );
      if (policy) run.resource('AWS::IAM::PasswordPolicy', context.account, policy);

      const summary = await run.attempt('iam:GetAccountSummary', async () => (await iam.send(new GetAccountSummaryCommand({}))).SummaryMap ?? {}, { types: ['AWS::IAM::AccountSummary'] });
      const report = await run.attempt('iam:GetCredentialReport', async () => {
        // The report is generated asynchronously: ask, then read until it is there (about 10 s at most).
        for (let attempt = 0; ; attempt++) {
          const state = (await iam.send(new GenerateCredentialReportCommand({}))).State;
          if (state === 'COMPLETE' || attempt >= 20) break;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        try {
          return parseCredentialReport(new TextDecoder().decode((await iam.send(new GetCredentialReportCommand({}))).Content));
        } catch (error) {
          if (isError(error, 'ReportInProgress', 'ReportNotPresent', 'ReportExpired')) throw new Error(`credential report not ready: ${(error as Error).name}`);
          throw error;
        }
      }, { types: ['AWS::IAM::User', 'AWS::IAM::AccountSummary'] });
      if (summary) {
        run.resource('AWS::IAM::AccountSummary', context.account, {
          account_mfa_enabled: summary.AccountMFAEnabled === 1,
          // Root access keys: from the summary, or the credential report's root row.
          root_access_keys_present: summary.AccountAccessKeysPresent === 1 || report?.rootAccessKeys === true,
        });
      }
      for (const user of report?.users ?? []) run.resource('AWS::IAM::User', user.name, user.configuration, { arn: user.arn });
    } finally {
      iam.destroy();
    }
  },
});
