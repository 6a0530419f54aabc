# METADATA
# title: Macie is off where S3 holds restricted data
# description: "A region whose S3 buckets hold data the catalog classifies restricted, while Macie is not enabled there."
# custom:
#   id: macie.restricted_data
#   scope: account
#   item_types: [AWS::Macie::RegionalSettings, AWS::S3::Bucket]
#   reads: [catalog, coverage]
#   severity: high
#   controls: [CC6.1, C1.1]
#   resource_types: [AWS::Macie::RegionalSettings]
#   listing_scope: region
#   listed_types: [AWS::Macie::RegionalSettings, AWS::S3::Bucket]
#   hint: "Enable Amazon Macie (aws macie2 enable-macie) in the account and region of the bucket, and schedule sensitive data discovery for it."
#   seed: "002 Phase 0 Security Baseline: Enable AWS Macie for PII detection"
package custos.rules.macie.restricted_data

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some r in lib.resources("AWS::Macie::RegionalSettings")
	lib.listed_here(r)
	not r.configuration.enabled == true
	buckets := sort([b.id | some b in lib.resources("AWS::S3::Bucket"); b.account == r.account; b.region == r.region; lib.catalog_rank(b) >= lib.classification_rank("restricted")])
	count(buckets) > 0
	msg := concat("", ["Macie is not enabled in account ", r.account, " region ", r.region, " where buckets hold restricted data: ", concat(", ", buckets)])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
