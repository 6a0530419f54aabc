/** The entrypoints the service evaluates; every bundle it accepts must define them. */
export const COMPLIANCE_VIOLATIONS = 'custos/compliance/violations';
export const COMPLIANCE_RULES = 'custos/compliance/rules';

export const ACCESS_DECISION = 'custos/access/decision';

export const ENTRYPOINTS = [COMPLIANCE_VIOLATIONS, COMPLIANCE_RULES, ACCESS_DECISION] as const;
