import { HttpProblem } from '../../http/problem.js';
import type { RemediationAction } from './action.js';
import { configRemediation } from './config-remediation.js';
import { lakeformationRevoke } from './lakeformation-revoke.js';
import { s3BlockPublicAccess } from './s3-block-public-access.js';
import { s3DefaultEncryptionKms } from './s3-default-encryption-kms.js';
import { s3EnableVersioning } from './s3-enable-versioning.js';
import { securityhubWorkflowUpdate } from './securityhub-workflow-update.js';

export * from './action.js';

/** Every remediation action, by the name rules give in their metadata (`remediation`). */
export const ACTIONS: readonly RemediationAction[] = [s3BlockPublicAccess, s3DefaultEncryptionKms, s3EnableVersioning, lakeformationRevoke, securityhubWorkflowUpdate, configRemediation];

/** Config managed remediation applies to a finding of any rule, given the Config rule and SSM document. */
export const ANY_RULE_ACTIONS = [configRemediation.name];

/** The action named, or a 400 naming `field` with the list of valid ones. */
export function actionNamed(name: string, field = 'action'): RemediationAction {
  const found = ACTIONS.find((a) => a.name === name);
  if (!found) {
    const valid = ACTIONS.map((a) => a.name).join(', ');
    throw new HttpProblem(400, 'validation-error', `${field}: unknown remediation action "${name}"; valid actions: ${valid}`, [{ location: 'body', field, message: `must be one of: ${valid}` }]);
  }
  return found;
}

/** Whether an action handles a resource type ("AWS::*" matches every AWS type). */
export const handles = (action: RemediationAction, resourceType: string) =>
  action.resourceTypes.some((t) => t === resourceType || (t.endsWith('::*') && resourceType.startsWith(t.slice(0, -1))));
