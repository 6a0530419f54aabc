# METADATA
# title: Security Hub finding open past its SLA
# description: |
#   An active, failing Security Hub finding that is still NEW or NOTIFIED longer than its severity's
#   remediation SLA allows: 7 days for CRITICAL, 30 days for HIGH, counted from first_observed_at.
#   It holds once the evaluation's now is past the deadline (violates_after), so the verdict on an
#   unchanged finding is reused rather than judged again every day.
# custom:
#   id: securityhub.finding_sla
#   scope: resource
#   reads: []
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
	due := finding.first_observed_at + lib.days(sla)
	resource := {"type": "AWS::SecurityHub::Finding", "id": finding.id, "account": finding.account, "region": finding.region}

	# concat and format_int run inside Wasm; sprintf is a call out to JS, slow over 50,000 findings.
	# Dates rather than a count of days: the message does not change while the finding does not.
	msg := concat("", [finding.severity, " finding \"", finding.title, "\" open since ", lib.date(finding.first_observed_at), " is past its ", format_int(sla, 10), "-day SLA (due ", lib.date(due), ")"])
	v := lib.violation_after(rego.metadata.chain(), resource, msg, due)
}
