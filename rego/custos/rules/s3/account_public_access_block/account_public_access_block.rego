# METADATA
# title: Account-level S3 Block Public Access off
# description: "An account whose account-level S3 Block Public Access is missing or has any of its four settings off."
# custom:
#   id: s3.account_public_access_block
#   scope: resource
#   reads: [coverage]
#   severity: high
#   controls: [CC6.6]
#   resource_types: [AWS::S3::AccountPublicAccessBlock]
#   listing_scope: account
#   hint: "aws s3control put-public-access-block --account-id <account> with all four settings true."
#   seed: "002 Phase 0 Encryption and Key Management: Enable S3 Block Public Access account-wide"
package custos.rules.s3.account_public_access_block

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

settings := ["block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets"]

violations contains v if {
	some r in lib.resources("AWS::S3::AccountPublicAccessBlock")
	lib.listed_here(r)
	off := [s | some s in settings; not block(r.configuration)[s] == true]
	count(off) > 0
	msg := concat("", ["account ", r.id, " S3 Block Public Access is off: ", concat(", ", off)])
	v := lib.violation(rego.metadata.chain(), r, msg)
}

block(c) := b if {
	b := c.public_access_block
	is_object(b)
} else := {}
