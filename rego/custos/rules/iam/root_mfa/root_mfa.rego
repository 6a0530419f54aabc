# METADATA
# title: Root user has no MFA
# description: An account whose root user does not have MFA enabled (or whose MFA status is not reported).
# custom:
#   id: iam.root_mfa
#   scope: resource
#   reads: [coverage]
#   severity: critical
#   controls: [CC6.1]
#   resource_types: [AWS::IAM::AccountSummary]
#   listing_scope: account
package custos.rules.iam.root_mfa

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some summary in lib.resources("AWS::IAM::AccountSummary")
	lib.listed_here(summary)
	not summary.configuration.account_mfa_enabled == true
	v := lib.violation(rego.metadata.chain(), summary, sprintf("root user of account %s does not have MFA enabled", [summary.id]))
}
