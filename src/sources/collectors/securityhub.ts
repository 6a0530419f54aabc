import { paginateGetEnabledStandards, paginateGetFindings, SecurityHubClient, type AwsSecurityFinding, type AwsSecurityFindingFilters } from '@aws-sdk/client-securityhub';
import { FINDING_TYPE } from '../coverage.js';
import type { NormalisedFinding } from '../types.js';
import { allPages, clientConfig, throttled, defineCollector, epochSeconds } from './common.js';

type Severity = NormalisedFinding['severity'];
type WorkflowStatus = NormalisedFinding['workflow_status'];

const SEVERITIES: ReadonlySet<string> = new Set(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);

/** Severity.Label, or for findings that give only Severity.Normalized, the label ASFF maps it to. */
function severityOf(finding: AwsSecurityFinding): Severity {
  const label = finding.Severity?.Label;
  if (label && SEVERITIES.has(label)) return label as Severity;
  const normalized = finding.Severity?.Normalized;
  if (normalized === undefined) return 'INFORMATIONAL';
  if (normalized >= 90) return 'CRITICAL';
  if (normalized >= 70) return 'HIGH';
  if (normalized >= 40) return 'MEDIUM';
  if (normalized >= 1) return 'LOW';
  return 'INFORMATIONAL';
}

/** The deprecated WorkflowState, mapped to Workflow.Status as Security Hub maps it. */
const WORKFLOW_STATE: Record<string, WorkflowStatus> = { NEW: 'NEW', ASSIGNED: 'NOTIFIED', IN_PROGRESS: 'NOTIFIED', DEFERRED: 'SUPPRESSED', RESOLVED: 'RESOLVED' };

export function normaliseFinding(finding: AwsSecurityFinding, fallback: { account: string; region: string; now: number }): NormalisedFinding {
  const first = epochSeconds(finding.FirstObservedAt) ?? epochSeconds(finding.CreatedAt) ?? fallback.now;
  const last = epochSeconds(finding.LastObservedAt) ?? epochSeconds(finding.UpdatedAt) ?? first;
  return {
    id: finding.Id ?? '',
    product_arn: finding.ProductArn ?? '',
    generator_id: finding.GeneratorId ?? '',
    title: finding.Title ?? '',
    severity: severityOf(finding),
    compliance_status: (finding.Compliance?.Status as NormalisedFinding['compliance_status'] | undefined) ?? null,
    workflow_status: (finding.Workflow?.Status as WorkflowStatus | undefined) ?? WORKFLOW_STATE[finding.WorkflowState ?? ''] ?? 'NEW',
    record_state: finding.RecordState === 'ARCHIVED' ? 'ARCHIVED' : 'ACTIVE',
    resources: (finding.Resources ?? []).map((r) => ({ type: r.Type ?? '', id: r.Id ?? '' })),
    account: finding.AwsAccountId ?? fallback.account,
    region: finding.Region ?? fallback.region,
    first_observed_at: first,
    last_observed_at: last,
  };
}

export const securityhubCollector = defineCollector({
  name: 'securityhub',
  description: 'Security Hub: the enabled standards (securityhub.standards, and AWS::SecurityHub::Hub with the ARNs of the standards in force) and the active findings, all of them or those updated since the last run.',
  permissions: ['securityhub:GetEnabledStandards', 'securityhub:GetFindings'],
  resourceTypes: [FINDING_TYPE, 'AWS::SecurityHub::Hub'],
  async run(run) {
    const { context } = run;
    const hub = throttled(new SecurityHubClient(clientConfig(context)), context);
    try {
      const standards = await run.attempt('securityhub:GetEnabledStandards', () =>
        allPages(paginateGetEnabledStandards({ client: hub, pageSize: 100 }, {}), (page) => page.StandardsSubscriptions),
        // Security Hub not enabled in the account and region: no standard is in force (data).
        { notFound: { codes: ['InvalidAccessException'], value: [] }, types: ['AWS::SecurityHub::Hub'] },
      );
      if (standards) {
        run.resource('AWS::SecurityHub::Hub', `${context.account}:${context.region}`, {
          standards: standards.filter((s) => s.StandardsStatus === 'READY' || s.StandardsStatus === 'INCOMPLETE').map((s) => s.StandardsArn ?? ''),
        });
        run.setting(
          'securityhub.standards',
          standards.map((s) => ({ arn: s.StandardsArn ?? '', subscription_arn: s.StandardsSubscriptionArn ?? '', status: s.StandardsStatus ?? null })),
        );
      }

      const filters: AwsSecurityFindingFilters = { RecordState: [{ Value: 'ACTIVE', Comparison: 'EQUALS' }] };
      if (context.since !== undefined) {
        const since = new Date(context.since * 1000).toISOString();
        filters.UpdatedAt = [{ Start: since }];
        // Findings not updated since then were not listed: their absence says nothing.
        run.incomplete([FINDING_TYPE], `incremental run: only findings updated since ${since} were listed`);
      }
      // A failure leaves the findings incomplete, not the standards read above (the Hub stays judged).
      const findings = await run.attempt(
        'securityhub:GetFindings',
        () => allPages(paginateGetFindings({ client: hub, pageSize: 100 }, { Filters: filters }), (page) => page.Findings),
        { types: [FINDING_TYPE] },
      );
      for (const finding of findings ?? []) {
        // The same filters again, here: moto (the emulator the tests run against) ignores Filters, and
        // a finding that slipped through must not be evaluated as active or as new.
        if (finding.RecordState !== 'ACTIVE') continue;
        if (context.since !== undefined && (epochSeconds(finding.UpdatedAt) ?? 0) < context.since) continue;
        run.output.findings.push(normaliseFinding(finding, context));
      }
    } finally {
      hub.destroy();
    }
  },
});
