package custos.rules.securityhub.finding_sla_test

import data.custos.lib
import data.custos.rules.securityhub.finding_sla

now := 1750000000

day := 86400

finding(fields) := object.union(
	{
		"id": "arn:aws:securityhub:us-east-1:111122223333:subscription/aws-foundational-security-best-practices/v/1.0.0/S3.8/finding/0001",
		"product_arn": "arn:aws:securityhub:us-east-1::product/aws/securityhub",
		"generator_id": "aws-foundational-security-best-practices/v/1.0.0/S3.8",
		"title": "S3 general purpose buckets should block public access",
		"severity": "CRITICAL",
		"compliance_status": "FAILED",
		"workflow_status": "NEW",
		"record_state": "ACTIVE",
		"resources": [{"type": "AwsS3Bucket", "id": "arn:aws:s3:::wealth-client-documents"}],
		"account": "111122223333",
		"region": "us-east-1",
		"first_observed_at": now - (10 * day),
		"last_observed_at": now - 3600,
	},
	fields,
)

# What an evaluation at `now` reports: the violations that hold then.
evaluate(findings) := {v | some v in whenever(findings); lib.holds(v, now)}

# The rule's violations, whenever they begin.
whenever(findings) := vs if {
	vs := finding_sla.violations with input as {"findings": findings}
}

test_critical_finding_past_seven_days_is_a_violation if {
	vs := evaluate([finding({})])
	count(vs) == 1
	some v in vs
	v.id == "securityhub.finding_sla"
	v.severity == "high"
	v.controls == ["CC7.3", "CC7.4"]
	v.resource == {
		"type": "AWS::SecurityHub::Finding",
		"id": "arn:aws:securityhub:us-east-1:111122223333:subscription/aws-foundational-security-best-practices/v/1.0.0/S3.8/finding/0001",
		"account": "111122223333",
		"region": "us-east-1",
	}
	v.msg == `CRITICAL finding "S3 general purpose buckets should block public access" open since 2025-06-05 is past its 7-day SLA (due 2025-06-12)`

	# The rule's metadata is attached by id (lib.violation_after), not carried by each violation.
	not lib.has(v, "rule")
	finding_sla.metadata.remediation == "securityhub_workflow_update"
}

test_high_finding_past_thirty_days_counts_whole_days if {
	# 45 days and 23 hours ago: due 30 days after it was first observed.
	f := finding({"id": "f-high", "title": "IAM root user should have MFA", "severity": "HIGH", "workflow_status": "NOTIFIED", "first_observed_at": (now - (45 * day)) - 82800})
	vs := evaluate([f])
	{v.msg | some v in vs} == {`HIGH finding "IAM root user should have MFA" open since 2025-04-30 is past its 30-day SLA (due 2025-05-30)`}
}

test_missing_compliance_status_is_still_failing if {
	vs := evaluate([finding({"compliance_status": null}), finding({"id": "f-warning", "compliance_status": "WARNING"})])
	{v.resource.id | some v in vs} == {finding({}).id, "f-warning"}
}

test_exactly_at_the_sla_is_not_a_violation if {
	at_critical := finding({"id": "c", "first_observed_at": now - (7 * day)})
	at_high := finding({"id": "h", "severity": "HIGH", "first_observed_at": now - (30 * day)})
	count(evaluate([at_critical, at_high])) == 0
}

test_one_second_past_the_sla_is_a_violation if {
	vs := evaluate([finding({"first_observed_at": (now - (7 * day)) - 1})])
	{v.msg | some v in vs} == {`CRITICAL finding "S3 general purpose buckets should block public access" open since 2025-06-08 is past its 7-day SLA (due 2025-06-15)`}
}

test_the_violation_begins_at_the_deadline_whatever_now if {
	# The rule does not read now: an unchanged finding's verdict is reused (src/evaluation/time-bound.ts).
	vs := whenever([finding({"first_observed_at": 1000})])
	{v.violates_after | some v in vs} == {1000 + (7 * day)}
	vs == finding_sla.violations with input as {"now": 0, "findings": [finding({"first_observed_at": 1000})]}
}

test_high_finding_within_thirty_days_passes if {
	count(evaluate([finding({"severity": "HIGH", "first_observed_at": now - (29 * day)})])) == 0
}

test_closed_passed_and_archived_findings_pass if {
	findings := [
		finding({"id": "archived", "record_state": "ARCHIVED"}),
		finding({"id": "resolved", "workflow_status": "RESOLVED"}),
		finding({"id": "suppressed", "workflow_status": "SUPPRESSED"}),
		finding({"id": "passed", "compliance_status": "PASSED"}),
	]
	count(evaluate(findings)) == 0
}

test_severities_without_an_sla_pass if {
	old := now - (400 * day)
	findings := [finding({"id": sev, "severity": sev, "first_observed_at": old}) | some sev in ["MEDIUM", "LOW", "INFORMATIONAL"]]
	count(evaluate(findings)) == 0
}

test_only_the_overdue_finding_of_several_is_reported if {
	vs := evaluate([finding({"id": "overdue"}), finding({"id": "fresh", "first_observed_at": now - day})])
	{v.resource.id | some v in vs} == {"overdue"}
}

test_metadata_comes_from_the_annotations if {
	finding_sla.metadata == {
		"id": "securityhub.finding_sla",
		"title": "Security Hub finding open past its SLA",
		"description": "An active, failing Security Hub finding that is still NEW or NOTIFIED longer than its severity's\nremediation SLA allows: 7 days for CRITICAL, 30 days for HIGH, counted from first_observed_at.\nIt holds once the evaluation's now is past the deadline (violates_after), so the verdict on an\nunchanged finding is reused rather than judged again every day.\n",
		"severity": "high",
		"controls": ["CC7.3", "CC7.4"],
		"resource_types": ["AWS::SecurityHub::Finding"],
		"absence_is_compliance": true,
		"remediation": "securityhub_workflow_update",
		"scope": "resource",
		"reads": [],
		"package": "custos.rules.securityhub.finding_sla",
	}
}
