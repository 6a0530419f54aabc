import type { Knex } from 'knex';
import * as foundation from './001_foundation.js';
import * as catalog from './002_catalog.js';
import * as complianceAndAlerts from './003_compliance_and_alerts.js';
import * as referenceData from './004_reference_data.js';
import * as policy from './005_policy.js';
import * as collections from './006_collections.js';
import * as access from './007_access.js';
import * as evidence from './008_evidence.js';
import * as attestationsAndExceptions from './009_attestations_and_exceptions.js';
import * as remediation from './010_remediation.js';
import * as identity from './012_identity.js';
import * as consoleSessions from './015_console_sessions.js';
import * as alerting from './016_alerting.js';
import * as apiKeyLifecycle from './014_api_key_lifecycle.js';
import * as dataQuality from './018_data_quality.js';
import * as decisionLogPartitions from './020_decision_log_partitions.js';
import * as coverage from './011_coverage.js';
import * as pendingChanges from './012b_pending_changes.js';
import * as auditChain from './012c_audit_chain.js';
import * as notificationRetry from './025_notification_retry.js';
import * as pipelineKeyPrincipals from './023_pipeline_key_principals.js';
import * as evidenceReceivedAt from './024_evidence_received_at.js';
import * as organizations from './017_organizations.js';
import * as catalogEvaluation from './021_catalog_evaluation.js';
import * as collectionUnits from './026_collection_units.js';
import * as incrementalEvaluation from './028_incremental_evaluation.js';
import * as decisionLogWithoutBundleFk from './027_decision_log_without_bundle_fk.js';
import * as apiKeyIssuer from './031_api_key_issuer.js';
import * as pendingViolations from './029_pending_violations.js';
import * as runSliceDigests from './032_run_slice_digests.js';
import * as pendingAccountViolations from './033_pending_account_violations.js';
import * as evaluationBase from './034_evaluation_base.js';
import * as runItemCounts from './035_run_item_counts.js';
import * as membershipReferencesPerStatement from './036_membership_references_per_statement.js';
import * as findingSightings from './037_finding_sightings.js';
import * as evidenceBodiesAsJson from './038_evidence_bodies_as_json.js';
import * as findingsFillfactor from './030_findings_fillfactor.js';

export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Migrations are listed here rather than discovered on disk, so they are type-checked and compiled
 * with the rest of the code and run the same from `tsx`, tap and `dist/`.
 */
export const migrations: Migration[] = [
  { name: '001_foundation', ...foundation },
  { name: '002_catalog', ...catalog },
  { name: '003_compliance_and_alerts', ...complianceAndAlerts },
  { name: '004_reference_data', ...referenceData },
  { name: '005_policy', ...policy },
  { name: '006_collections', ...collections },
  { name: '007_access', ...access },
  { name: '008_evidence', ...evidence },
  { name: '009_attestations_and_exceptions', ...attestationsAndExceptions },
  { name: '010_remediation', ...remediation },
  { name: '012_identity', ...identity },
  { name: '015_console_sessions', ...consoleSessions },
  { name: '016_alerting', ...alerting },
  { name: '020_decision_log_partitions', ...decisionLogPartitions },
  { name: '011_coverage', ...coverage },
  { name: '014_api_key_lifecycle', ...apiKeyLifecycle },
  { name: '018_data_quality', ...dataQuality },
  { name: '012b_pending_changes', ...pendingChanges },
  { name: '012c_audit_chain', ...auditChain },
  { name: '025_notification_retry', ...notificationRetry },
  { name: '023_pipeline_key_principals', ...pipelineKeyPrincipals },
  { name: '024_evidence_received_at', ...evidenceReceivedAt },
  { name: '017_organizations', ...organizations },
  { name: '021_catalog_evaluation', ...catalogEvaluation },
  { name: '026_collection_units', ...collectionUnits },
  { name: '028_incremental_evaluation', ...incrementalEvaluation },
  { name: '027_decision_log_without_bundle_fk', ...decisionLogWithoutBundleFk },
  { name: '031_api_key_issuer', ...apiKeyIssuer },
  { name: '029_pending_violations', ...pendingViolations },
  { name: '030_findings_fillfactor', ...findingsFillfactor },
  { name: '032_run_slice_digests', ...runSliceDigests },
  { name: '033_pending_account_violations', ...pendingAccountViolations },
  { name: '034_evaluation_base', ...evaluationBase },
  { name: '035_run_item_counts', ...runItemCounts },
  { name: '036_membership_references_per_statement', ...membershipReferencesPerStatement },
  { name: '037_finding_sightings', ...findingSightings },
  { name: '038_evidence_bodies_as_json', ...evidenceBodiesAsJson },
];

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations,
  getMigrationName: (migration) => migration.name,
  getMigration: async (migration) => migration,
};
