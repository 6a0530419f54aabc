import { Type } from '@sinclair/typebox';
import {
  DescribeRemediationConfigurationsCommand,
  DescribeRemediationExecutionStatusCommand,
  PutRemediationConfigurationsCommand,
  StartRemediationExecutionCommand,
  type ResourceType,
} from '@aws-sdk/client-config-service';
import { configClient, withClient } from '../aws.js';
import { defineAction, requestIds, type ActionContext, type Target } from './action.js';

interface RemediationConfiguration {
  target_id: string;
  target_version: string | null;
  parameters: Record<string, string>;
}

const sortedParameters = (parameters: Record<string, string>) => Object.fromEntries(Object.entries(parameters).sort(([a], [b]) => a.localeCompare(b)));
const resourceKeys = (target: Target) => [{ resourceType: target.resource_type as ResourceType, resourceId: target.resource_id }];
const ruleName = (context: ActionContext) => context.params.config_rule_name as string;

/**
 * AWS Config managed remediation with an SSM document. Request shapes from the AWS Config API
 * reference: PutRemediationConfigurations {RemediationConfigurations: [{ConfigRuleName, TargetType
 * SSM_DOCUMENT, TargetId, TargetVersion, Parameters {name: {StaticValue {Values}}}, Automatic}]},
 * StartRemediationExecution {ConfigRuleName, ResourceKeys}, DescribeRemediationExecutionStatus.
 */
export const configRemediation = defineAction({
  name: 'config_remediation',
  description:
    "AWS Config managed remediation: PutRemediationConfigurations (manual, SSM document) on the rule if it differs, then StartRemediationExecution for the resource; verified when Config reports the execution SUCCEEDED. Any finding's resource that a Config rule evaluates, given the rule and SSM document. No rollback: an SSM automation cannot be undone generically.",
  resourceTypes: ['AWS::*'],
  params: Type.Object(
    {
      config_rule_name: Type.String({ minLength: 1, maxLength: 128 }),
      target_id: Type.String({ minLength: 1, maxLength: 256, description: 'SSM document name or ARN, e.g. AWS-EnableS3BucketEncryption' }),
      target_version: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
      parameters: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Type.String({ maxLength: 1024 }), { description: 'Static values of the document parameters' })),
    },
    { additionalProperties: false },
  ),
  permissions: ['config:DescribeRemediationConfigurations', 'config:PutRemediationConfigurations', 'config:StartRemediationExecution', 'config:DescribeRemediationExecutionStatus', 'iam:PassRole'],
  risk: 'high',
  read: (context, target) =>
    withClient(configClient(context.source, context.aws), async (config) => {
      const found = (await config.send(new DescribeRemediationConfigurationsCommand({ ConfigRuleNames: [ruleName(context)] }))).RemediationConfigurations?.[0];
      const status = (await config.send(new DescribeRemediationExecutionStatusCommand({ ConfigRuleName: ruleName(context), ResourceKeys: resourceKeys(target) }))).RemediationExecutionStatuses?.[0];
      const configuration: RemediationConfiguration | null = found?.TargetId
        ? {
            target_id: found.TargetId,
            target_version: found.TargetVersion ?? null,
            parameters: sortedParameters(Object.fromEntries(Object.entries(found.Parameters ?? {}).map(([k, v]) => [k, (v.StaticValue?.Values ?? []).join(',')]))),
          }
        : null;
      return { remediation_configuration: configuration, execution_state: status?.State ?? null };
    }),
  desired: (_before, { params }) => ({
    remediation_configuration: { target_id: params.target_id, target_version: params.target_version ?? null, parameters: sortedParameters((params.parameters as Record<string, string>) ?? {}) },
    execution_state: 'SUCCEEDED',
  }),
  apply: (context, target, change) =>
    withClient(configClient(context.source, context.aws), async (config) => {
      const wanted = change.after.remediation_configuration as RemediationConfiguration;
      const answers = [];
      if (JSON.stringify(change.before.remediation_configuration) !== JSON.stringify(wanted)) {
        const put = await config.send(
          new PutRemediationConfigurationsCommand({
            RemediationConfigurations: [
              {
                ConfigRuleName: ruleName(context),
                TargetType: 'SSM_DOCUMENT',
                TargetId: wanted.target_id,
                ...(wanted.target_version ? { TargetVersion: wanted.target_version } : {}),
                Parameters: Object.fromEntries(Object.entries(wanted.parameters).map(([k, v]) => [k, { StaticValue: { Values: [v] } }])),
                Automatic: false,
              },
            ],
          }),
        );
        if (put.FailedBatches?.length) throw new Error(`PutRemediationConfigurations failed: ${put.FailedBatches[0]!.FailureMessage ?? 'unknown reason'}`);
        answers.push(put);
      }
      const started = await config.send(new StartRemediationExecutionCommand({ ConfigRuleName: ruleName(context), ResourceKeys: resourceKeys(target) }));
      if (started.FailedItems?.length) throw new Error(`StartRemediationExecution failed: ${started.FailureMessage ?? 'unknown reason'}`);
      answers.push(started);
      return { requestIds: requestIds(...answers) };
    }),
  // Started is applied (on resume nothing is started twice); verified only once Config says SUCCEEDED.
  applied: (state) => ['QUEUED', 'IN_PROGRESS', 'SUCCEEDED'].includes(String(state.execution_state)),
  verified: (state) => state.execution_state === 'SUCCEEDED',
});
