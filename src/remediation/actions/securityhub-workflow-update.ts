import { Type } from '@sinclair/typebox';
import { BatchUpdateFindingsCommand, GetFindingsCommand, type SecurityHubClient, type WorkflowStatus } from '@aws-sdk/client-securityhub';
import { securityHubClient, withClient } from '../aws.js';
import { defineAction, NotApplicable, requestIds, type ActionContext, type Target } from './action.js';

interface FindingState {
  product_arn: string;
  workflow_status: string;
}

const IN_HAND = ['NOTIFIED', 'RESOLVED'];

/**
 * BatchUpdateFindings for one finding (request shape from the AWS API reference: FindingIdentifiers
 * {Id, ProductArn}, Workflow.Status, Note {Text, UpdatedBy}). A finding it could not update comes
 * back in UnprocessedFindings with an HTTP 200, so that is turned into an error here.
 */
async function updateWorkflow(context: ActionContext, target: Target, productArn: string, status: WorkflowStatus, note: string) {
  return withClient(securityHubClient(context.source, context.aws), async (hub: SecurityHubClient) => {
    const answer = await hub.send(
      new BatchUpdateFindingsCommand({
        FindingIdentifiers: [{ Id: target.resource_id, ProductArn: productArn }],
        Workflow: { Status: status },
        Note: { Text: note.slice(0, 512), UpdatedBy: 'custos' },
      }),
    );
    const failed = answer.UnprocessedFindings?.[0];
    if (failed) throw Object.assign(new Error(`BatchUpdateFindings did not update ${target.resource_id}: ${failed.ErrorCode}: ${failed.ErrorMessage}`), { name: failed.ErrorCode ?? 'UnprocessedFinding' });
    return { requestIds: requestIds(answer) };
  });
}

const note = (context: ActionContext, what: string) => `Custos remediation ${context.remediationId}: ${what}${context.params.note ? ` — ${String(context.params.note)}` : ''}`;

/** Security Hub workflow: NOTIFIED with a note when remediation starts, RESOLVED once verified. */
export const securityhubWorkflowUpdate = defineAction({
  name: 'securityhub_workflow_update',
  description:
    'BatchUpdateFindings: Workflow NOTIFIED with a note when the remediation is applied, RESOLVED with a note after verify (the owner has been notified and the finding is tracked here). Rollback restores the previous workflow status.',
  resourceTypes: ['AWS::SecurityHub::Finding'],
  params: Type.Object({ note: Type.Optional(Type.String({ minLength: 1, maxLength: 400, description: 'Added to the note written to the finding' })) }, { additionalProperties: false }),
  permissions: ['securityhub:GetFindings', 'securityhub:BatchUpdateFindings'],
  risk: 'low',
  read: (context, target) =>
    withClient(securityHubClient(context.source, context.aws), async (hub) => {
      const found = (await hub.send(new GetFindingsCommand({ Filters: { Id: [{ Value: target.resource_id, Comparison: 'EQUALS' }] }, MaxResults: 1 }))).Findings ?? [];
      const finding = found.find((f) => f.Id === target.resource_id);
      if (!finding) throw new NotApplicable(`Security Hub has no finding ${target.resource_id}`);
      return { product_arn: finding.ProductArn ?? '', workflow_status: finding.Workflow?.Status ?? 'NEW' };
    }),
  desired: (before) => ({ ...before, workflow_status: 'RESOLVED' }),
  apply: (context, target, change) => updateWorkflow(context, target, (change.before as unknown as FindingState).product_arn, 'NOTIFIED', note(context, 'remediation started')),
  applied: (state) => IN_HAND.includes(String(state.workflow_status)),
  finalize: (context, target, change) => updateWorkflow(context, target, (change.before as unknown as FindingState).product_arn, 'RESOLVED', note(context, 'remediation verified')),
  rollback: (context, target, change) => {
    const before = change.before as unknown as FindingState;
    return updateWorkflow(context, target, before.product_arn, before.workflow_status as WorkflowStatus, note(context, 'remediation rolled back'));
  },
});
