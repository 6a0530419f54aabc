# METADATA
# title: GuardDuty is not enabled in a region
# description: "A collected region where no GuardDuty detector is enabled."
# custom:
#   id: guardduty.detector_enabled
#   scope: resource
#   reads: [coverage]
#   severity: high
#   controls: [CC7.2]
#   resource_types: [AWS::GuardDuty::RegionalSettings]
#   listing_scope: region
#   hint: "Enable GuardDuty in every region (aws guardduty create-detector --enable), or from the organization's delegated administrator for all accounts."
#   seed: "002 Phase 0 Security Baseline: Enable AWS GuardDuty in all regions"
package custos.rules.guardduty.detector_enabled

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some r in lib.resources("AWS::GuardDuty::RegionalSettings")
	lib.listed_here(r)
	not r.configuration.detector_enabled == true
	msg := concat("", ["GuardDuty has no enabled detector in account ", r.account, " region ", r.region])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
