# METADATA
# title: Root user has access keys
# description: "An account whose root user has access keys."
# custom:
#   id: iam.root_access_keys
#   scope: resource
#   reads: [coverage]
#   severity: critical
#   controls: [CC6.1]
#   resource_types: [AWS::IAM::AccountSummary]
#   listing_scope: account
#   hint: "Delete the root user's access keys (signed in as root: Security credentials, Access keys, Delete); use IAM roles instead."
#   seed: "002 Phase 0 Identity and Access Management: Delete root account access keys"
package custos.rules.iam.root_access_keys

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some r in lib.resources("AWS::IAM::AccountSummary")
	lib.listed_here(r)
	r.configuration.root_access_keys_present == true
	msg := concat("", ["root user of account ", r.id, " has access keys"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
