import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';

t.test('remediation settings: defaults, and invalid values stop start-up naming the variable', async (t) => {
  t.match(loadConfig({}), { autoRemediate: false, remediationApprovalHours: 24, remediationStepDelayMs: 0 });
  t.match(loadConfig({ CUSTOS_AUTO_REMEDIATE: 'true', CUSTOS_REMEDIATION_APPROVAL_HOURS: '8', CUSTOS_REMEDIATION_STEP_DELAY_MS: '250' }), {
    autoRemediate: true,
    remediationApprovalHours: 8,
    remediationStepDelayMs: 250,
  });
  for (const [variable, value] of [
    ['CUSTOS_AUTO_REMEDIATE', 'yes'],
    ['CUSTOS_REMEDIATION_APPROVAL_HOURS', '0'],
    ['CUSTOS_REMEDIATION_APPROVAL_HOURS', '1.5'],
    ['CUSTOS_REMEDIATION_STEP_DELAY_MS', '-1'],
  ]) {
    t.throws(() => loadConfig({ [variable!]: value }), { constructor: ConfigError, variable, message: new RegExp(`^invalid configuration: ${variable} `) }, `${variable}=${value}`);
  }
});
