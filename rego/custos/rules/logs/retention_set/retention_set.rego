# METADATA
# title: Log group without retention
# description: "A CloudWatch Logs group with no retention setting, kept forever: no retention policy decides how long its data lives."
# custom:
#   id: logs.retention_set
#   scope: resource
#   reads: []
#   severity: low
#   controls: [CC7.2, C1.2]
#   resource_types: [AWS::Logs::LogGroup]
#   hint: "Set a retention that matches the data's retention policy (aws logs put-retention-policy); 2557 days or more for audit data."
#   seed: "002 Phase 0 Logging and Monitoring: Set CloudWatch Logs retention to 7 years"
#   absence_is_compliance: true
package custos.rules.logs.retention_set

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some r in lib.resources("AWS::Logs::LogGroup")
	r.configuration.retention_in_days == null
	msg := concat("", ["log group ", r.id, " has no retention setting (never expires)"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
