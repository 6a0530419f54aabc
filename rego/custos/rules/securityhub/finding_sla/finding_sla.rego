# METADATA
# title: Security Hub finding open past its SLA
# description: |
#   An active, failing Security Hub finding that is still NEW or NOTIFIED longer than its severity's
#   remediation SLA allows: 7 days for CRITICAL, 30 days for HIGH, counted from first_observed_at.
# custom:
#   id: securityhub.finding_sla
#   scope: resource
#   reads: [now]
#   severity: high
#   controls: [CC7.3, CC7.4]
#   resource_types: [AWS::SecurityHub::Finding]
#   absence_is_compliance: true
#   remediation: securityhub_workflow_update
package custos.rules.securityhub.finding_sla

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

# Days a finding of each severity may stay open; other severities have no SLA.
sla_days := {"CRITICAL": 7, "HIGH": 30}

open_workflow_statuses := {"NEW", "NOTIFIED"}

violations contains v if {
	some finding in input.findings
	finding.record_state == "ACTIVE"
	finding.workflow_status in open_workflow_statuses
	finding.compliance_status != "PASSED"
	sla := sla_days[finding.severity]
	open_seconds := input.now - finding.first_observed_at
	open_seconds > lib.days(sla)
	open_days := (open_seconds - (open_seconds % 86400)) / 86400
	resource := {"type": "AWS::SecurityHub::Finding", "id": finding.id, "account": finding.account, "region": finding.region}
	# concat and format_int run inside Wasm; sprintf is a call out to JS, slow over 50,000 findings.
	msg := concat("", [finding.severity, " finding \"", finding.title, "\" has been open ", format_int(open_days, 10), " days, past its ", format_int(sla, 10), "-day SLA"])
	v := lib.violation(rego.metadata.chain(), resource, msg)
}
