# METADATA
# title: No IAM Access Analyzer in an account
# description: "An account none of whose collected regions has an active IAM Access Analyzer analyzer."
# custom:
#   id: accessanalyzer.analyzer_present
#   scope: account
#   item_types: [AWS::AccessAnalyzer::RegionalSettings]
#   reads: [coverage]
#   severity: medium
#   controls: [CC6.1]
#   resource_types: [AWS::AccessAnalyzer::RegionalSettings]
#   listing_scope: account_regions
#   hint: "Create an analyzer (aws accessanalyzer create-analyzer --type ACCOUNT, or ORGANIZATION from the delegated administrator) in every region used."
#   seed: "002 Phase 0 Security Baseline: Enable IAM Access Analyzer"
package custos.rules.accessanalyzer.analyzer_present

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

# Judged only where analyzers were listed completely in every region of the account the run covered:
# an unlisted region may hold the analyzer.
accounts contains r.account if {
	some r in lib.resources("AWS::AccessAnalyzer::RegionalSettings")
	lib.listed_in_every_region(r.type, r.account)
}

violations contains v if {
	some account in accounts
	active := [a | some a in lib.resources("AWS::AccessAnalyzer::RegionalSettings"); a.account == account; a.configuration.active_analyzers > 0]
	count(active) == 0
	regions := sort([a.region | some a in lib.resources("AWS::AccessAnalyzer::RegionalSettings"); a.account == account])
	r := {"type": "AWS::AccessAnalyzer::RegionalSettings", "id": account, "account": account, "region": ""}
	msg := concat("", ["account ", account, " has no active IAM Access Analyzer analyzer in the regions collected (", concat(", ", regions), ")"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
