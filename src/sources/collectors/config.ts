import {
  ConfigServiceClient,
  DescribeConfigurationRecorderStatusCommand,
  paginateDescribeComplianceByConfigRule,
  paginateDescribeConfigRules,
  paginateListDiscoveredResources,
  type ResourceType,
} from '@aws-sdk/client-config-service';
import { BASELINE_CONFIGURATIONS, RESOURCE_CONFIGURATIONS } from '../../policy/input.js';
import { allPages, clientConfig, throttled, defineCollector, epochSeconds } from './common.js';

/**
 * Types of RESOURCE_CONFIGURATIONS that Custos defines for account- or region-level settings; AWS
 * Config has no such resource types, so they are not counted.
 */
const NOT_CONFIG_TYPES: ReadonlySet<string> = new Set(['AWS::EC2::RegionalSettings', 'AWS::IAM::PasswordPolicy', 'AWS::IAM::AccountSummary']);
/** The service collectors' types that were counted before the baseline types (issue 17) came; those are not counted yet. */
const BASELINE_TYPES: ReadonlySet<string> = new Set(Object.keys(BASELINE_CONFIGURATIONS));
export const CONFIG_COUNTED_TYPES = Object.keys(RESOURCE_CONFIGURATIONS).filter((t) => !NOT_CONFIG_TYPES.has(t) && !BASELINE_TYPES.has(t));

/**
 * AWS Config as a source of settings, not of resources: whether the recorder runs, which rules exist
 * and how they evaluate, and how many resources of each type Custos evaluates Config has discovered
 * (to compare with what the service collectors report). Resource configurations come from the
 * service collectors.
 */
export const configCollector = defineCollector({
  name: 'config',
  description:
    'AWS Config: recorder status (config.recorder_status), rules (config.rules), compliance by rule (config.rule_compliance; and each rule as AWS::Config::ConfigRule with its managed identifier and compliance) and counts of discovered resources of the types Custos evaluates (config.discovered_resources).',
  permissions: ['config:DescribeConfigurationRecorderStatus', 'config:DescribeConfigRules', 'config:DescribeComplianceByConfigRule', 'config:ListDiscoveredResources'],
  // Settings only: Config lists no resources the rules evaluate, so it covers no resource type.
  // Config's own verdicts, one AWS::Config::ConfigRule per rule: incomplete when rules or compliance could not be read.
  resourceTypes: ['AWS::Config::ConfigRule'],
  async run(run) {
    const { context } = run;
    const config = throttled(new ConfigServiceClient(clientConfig(context)), context);
    try {
      const recorders = await run.attempt(
        'config:DescribeConfigurationRecorderStatus',
        async () => (await config.send(new DescribeConfigurationRecorderStatusCommand({}))).ConfigurationRecordersStatus ?? [],
        { types: [] },
      );
      if (recorders) {
        run.setting(
          'config.recorder_status',
          recorders.map((r) => ({
            name: r.name ?? '',
            recording: r.recording === true,
            last_status: r.lastStatus ?? null,
            last_error_code: r.lastErrorCode ?? null,
            last_start_time: epochSeconds(r.lastStartTime) ?? null,
            last_stop_time: epochSeconds(r.lastStopTime) ?? null,
            last_status_change_time: epochSeconds(r.lastStatusChangeTime) ?? null,
          })),
        );
      }

      const rules = await run.attempt('config:DescribeConfigRules', () => allPages(paginateDescribeConfigRules({ client: config }, {}), (page) => page.ConfigRules));
      if (rules) {
        run.setting(
          'config.rules',
          rules.map((r) => ({
            name: r.ConfigRuleName ?? '',
            arn: r.ConfigRuleArn ?? null,
            state: r.ConfigRuleState ?? null,
            source: { owner: r.Source?.Owner ?? null, identifier: r.Source?.SourceIdentifier ?? null },
            resource_types: r.Scope?.ComplianceResourceTypes ?? [],
          })),
        );
      }

      const compliance = await run.attempt('config:DescribeComplianceByConfigRule', () =>
        allPages(paginateDescribeComplianceByConfigRule({ client: config }, {}), (page) => page.ComplianceByConfigRules),
      );
      // Config's own verdicts, as resources beside Custos's: one AWS::Config::ConfigRule per rule
      // with its managed identifier and compliance (only when both were read).
      if (rules && compliance) {
        const byRule = new Map(compliance.map((c) => [c.ConfigRuleName ?? '', c]));
        for (const rule of rules) {
          if (!rule.ConfigRuleName) continue;
          const c = byRule.get(rule.ConfigRuleName)?.Compliance;
          run.resource(
            'AWS::Config::ConfigRule',
            rule.ConfigRuleName,
            {
              owner: rule.Source?.Owner ?? null,
              identifier: rule.Source?.SourceIdentifier ?? null,
              compliance: c?.ComplianceType ?? 'INSUFFICIENT_DATA',
              non_compliant_resources: c?.ComplianceContributorCount?.CappedCount ?? null,
            },
            { arn: rule.ConfigRuleArn },
          );
        }
      }
      if (compliance) {
        run.setting(
          'config.rule_compliance',
          compliance.map((c) => ({
            rule: c.ConfigRuleName ?? '',
            compliance: c.Compliance?.ComplianceType ?? null,
            // How many resources fail the rule; AWS caps the count at 100 (capped: true beyond).
            non_compliant_resources: c.Compliance?.ComplianceContributorCount?.CappedCount ?? null,
            capped: c.Compliance?.ComplianceContributorCount?.CapExceeded === true,
          })),
        );
      }

      // A type that could not be counted is left out (and is a gap), never counted as zero.
      const counts: Record<string, number> = {};
      for (const type of CONFIG_COUNTED_TYPES) {
        const found = await run.attempt(`config:ListDiscoveredResources (${type})`, () =>
          allPages(paginateListDiscoveredResources({ client: config, pageSize: 100 }, { resourceType: type as ResourceType }), (page) => page.resourceIdentifiers),
          { types: [] },
        );
        if (found !== undefined) counts[type] = found.length;
      }
      if (Object.keys(counts).length > 0) run.setting('config.discovered_resources', counts);
    } finally {
      config.destroy();
    }
  },
});
