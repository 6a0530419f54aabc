package custos.rules.logs.retention_set_test

import data.custos.rules.logs.retention_set as rule

test_planted_violations_are_reported if {
	vs := rule.violations with input as {"now": 1767225600, "resources": [{"type": "AWS::Logs::LogGroup", "id": "app", "account": "111122223333", "region": "us-east-1", "configuration": {"retention_in_days": null}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	{v.msg | some v in vs} == {"log group app has no retention setting (never expires)"}
	every v in vs {
		v.id == "logs.retention_set"
		v.severity == "low"
		v.controls == ["CC7.2", "C1.2"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::Logs::LogGroup", "id": "app2", "account": "111122223333", "region": "us-east-1", "configuration": {"retention_in_days": 30}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "logs.retention_set"
	rule.metadata.controls == ["CC7.2", "C1.2"]
	rule.metadata.resource_types == ["AWS::Logs::LogGroup"]
	rule.metadata.hint == "Set a retention that matches the data's retention policy (aws logs put-retention-policy); 2557 days or more for audit data."
	rule.metadata.seed == "002 Phase 0 Logging and Monitoring: Set CloudWatch Logs retention to 7 years"
}
