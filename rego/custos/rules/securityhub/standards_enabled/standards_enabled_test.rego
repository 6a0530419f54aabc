package custos.rules.securityhub.standards_enabled_test

import data.custos.rules.securityhub.standards_enabled as rule

# The input with every type of its resources listed where each was seen: completely (true) or not (false).
listed(inp, complete) := object.union(inp, {"coverage": {t: {a: {x.region: complete | some x in inp.resources; x.type == t; x.account == a} | some y in inp.resources; y.type == t; a := y.account} | some z in inp.resources; t := z.type}})

test_planted_violations_are_reported if {
	vs := rule.violations with input as listed({"now": 1767225600, "resources": [{"type": "AWS::SecurityHub::Hub", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"standards": ["arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0"]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
	{v.msg | some v in vs} == {"Security Hub in account 111122223333 region us-east-1 lacks CIS AWS Foundations Benchmark"}
	every v in vs {
		v.id == "securityhub.standards_enabled"
		v.severity == "high"
		v.controls == ["CC7.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::SecurityHub::Hub", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"standards": ["arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0", "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0"]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "securityhub.standards_enabled"
	rule.metadata.controls == ["CC7.1"]
	rule.metadata.resource_types == ["AWS::SecurityHub::Hub"]
	rule.metadata.hint == "aws securityhub batch-enable-standards with the CIS AWS Foundations Benchmark and AWS Foundational Security Best Practices standard ARNs (enable Security Hub first if it is off)."
	rule.metadata.seed == "002 Phase 0 Security Baseline: Enable AWS Security Hub with CIS AWS Foundations Benchmark"
}

test_not_listed_completely_is_no_verdict if {
	# The same planted state, but the run did not list its types completely (or at all): no verdict.
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::SecurityHub::Hub", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"standards": ["arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0"]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::SecurityHub::Hub", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"standards": ["arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0"]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, false)
}
