/** The entrypoints the service evaluates; every bundle it accepts must define them. */
export const COMPLIANCE_VIOLATIONS = 'custos/compliance/violations';
export const COMPLIANCE_RULES = 'custos/compliance/rules';

export const ACCESS_DECISION = 'custos/access/decision';

export const ENTRYPOINTS = [COMPLIANCE_VIOLATIONS, COMPLIANCE_RULES, ACCESS_DECISION] as const;

/**
 * How a rule's violations depend on the input (its `# METADATA` `custom.scope`): `resource`, each
 * violation is about one item (resource, finding) and depends on it alone plus the shared parts it
 * `reads`; `account`, on the items of one account; `catalog`, on the catalog alone (no items);
 * `global` (the default), on everything.
 */
export const RULE_SCOPES = ['resource', 'account', 'catalog', 'global'] as const;
export type RuleScope = (typeof RULE_SCOPES)[number];

/**
 * Optional entrypoints of one scope's rules each (src/evaluation/partition.ts evaluates an estate in
 * parts with them; a bundle without them is evaluated whole).
 */
export const SCOPED_VIOLATIONS: Record<RuleScope, string> = {
  resource: 'custos/compliance/resource_violations',
  account: 'custos/compliance/account_violations',
  catalog: 'custos/compliance/catalog_violations',
  global: 'custos/compliance/global_violations',
};
