import { GetAccountPasswordPolicyCommand, GetAccountSummaryCommand, IAMClient } from '@aws-sdk/client-iam';
import { clientConfig, defineCollector } from './common.js';

const NO_POLICY = {
  present: false,
  minimum_password_length: 0,
  require_symbols: false,
  require_numbers: false,
  require_uppercase_characters: false,
  require_lowercase_characters: false,
};

/**
 * IAM is global: the same answer comes from every region. The resources carry the context's region
 * like every other, so a source collected in several regions should run this collector in one.
 */
export const iamCollector = defineCollector({
  name: 'iam',
  description: 'The account password policy (AWS::IAM::PasswordPolicy) and whether the root user has MFA (AWS::IAM::AccountSummary); both have the account id as id.',
  permissions: ['iam:GetAccountPasswordPolicy', 'iam:GetAccountSummary'],
  resourceTypes: ['AWS::IAM::PasswordPolicy', 'AWS::IAM::AccountSummary'],
  async run(run) {
    const { context } = run;
    const iam = new IAMClient(clientConfig(context));
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
          };
        },
        // The account has no password policy: data, not a failure.
        { notFound: { codes: ['NoSuchEntity', 'NoSuchEntityException'], value: NO_POLICY }, types: ['AWS::IAM::PasswordPolicy'] },
      );
      if (policy) run.resource('AWS::IAM::PasswordPolicy', context.account, policy);

      const summary = await run.attempt('iam:GetAccountSummary', async () => (await iam.send(new GetAccountSummaryCommand({}))).SummaryMap ?? {}, { types: ['AWS::IAM::AccountSummary'] });
      if (summary) run.resource('AWS::IAM::AccountSummary', context.account, { account_mfa_enabled: summary.AccountMFAEnabled === 1 });
    } finally {
      iam.destroy();
    }
  },
});
