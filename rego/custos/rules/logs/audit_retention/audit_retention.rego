# METADATA
# title: Audit or flow log group kept less than 7 years
# description: "A CloudWatch Logs group of audit data (CloudTrail, VPC flow logs, audit) whose retention is set below 7 years (2557 days)."
# custom:
#   id: logs.audit_retention
#   scope: resource
#   reads: []
#   severity: medium
#   controls: [CC7.2, C1.2]
#   resource_types: [AWS::Logs::LogGroup]
#   hint: "Set the group's retention to 2557 days or more (aws logs put-retention-policy --retention-in-days 2557); 3653 is the next value AWS accepts above it."
#   seed: "002 Phase 0 Logging and Monitoring: Set CloudWatch Logs retention to 7 years"
#   absence_is_compliance: true
package custos.rules.logs.audit_retention

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

audit_markers := ["cloudtrail", "flow", "audit", "vpc"]

violations contains v if {
	some r in lib.resources("AWS::Logs::LogGroup")
	some marker in audit_markers
	contains(lower(r.id), marker)
	days := r.configuration.retention_in_days
	days != null
	days < 2557
	msg := concat("", ["log group ", r.id, " keeps audit data ", format_int(days, 10), " days, less than 7 years (2557)"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
