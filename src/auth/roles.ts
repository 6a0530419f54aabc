import type { Role } from '../http/schemas.js';

// Who may do what, named once. Auditors read everything and write nothing; pipelines only ask
// for decisions (later issues), so they read no catalog data.
export const ADMIN_ONLY: readonly Role[] = ['admin'];
export const CATALOG_READERS: readonly Role[] = ['admin', 'steward', 'compliance_officer', 'auditor'];
/** Stewards curate the catalog: domains, assets, data quality. */
export const STEWARDS: readonly Role[] = ['admin', 'steward'];
/** Compliance owns the risk taxonomy and policy: classifications, masking, retention, compliance records, alerts. */
export const RISK_OWNERS: readonly Role[] = ['admin', 'compliance_officer'];
/** The audit log and key inventory are for oversight, not for the people being overseen. */
export const OVERSIGHT: readonly Role[] = ['admin', 'compliance_officer', 'auditor'];
