package custos.rules.logs.audit_retention_test

import data.custos.rules.logs.audit_retention as rule

test_planted_violations_are_reported if {
	vs := rule.violations with input as {"now": 1767225600, "resources": [{"type": "AWS::Logs::LogGroup", "id": "/aws/cloudtrail/org", "account": "111122223333", "region": "us-east-1", "configuration": {"retention_in_days": 365}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	{v.msg | some v in vs} == {"log group /aws/cloudtrail/org keeps audit data 365 days, less than 7 years (2557)"}
	every v in vs {
		v.id == "logs.audit_retention"
		v.severity == "medium"
		v.controls == ["CC7.2", "C1.2"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::Logs::LogGroup", "id": "/vpc/flow-logs", "account": "111122223333", "region": "us-east-1", "configuration": {"retention_in_days": 2557}}, {"type": "AWS::Logs::LogGroup", "id": "/aws/lambda/api", "account": "111122223333", "region": "us-east-1", "configuration": {"retention_in_days": 30}}, {"type": "AWS::Logs::LogGroup", "id": "/aws/cloudtrail/x", "account": "111122223333", "region": "us-east-1", "configuration": {"retention_in_days": null}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "logs.audit_retention"
	rule.metadata.controls == ["CC7.2", "C1.2"]
	rule.metadata.resource_types == ["AWS::Logs::LogGroup"]
	rule.metadata.hint == "Set the group's retention to 2557 days or more (aws logs put-retention-policy --retention-in-days 2557); 3653 is the next value AWS accepts above it."
	rule.metadata.seed == "002 Phase 0 Logging and Monitoring: Set CloudWatch Logs retention to 7 years"
}
