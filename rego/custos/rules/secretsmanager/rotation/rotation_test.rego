package custos.rules.secretsmanager.rotation_test

import data.custos.rules.secretsmanager.rotation as rule

test_planted_violations_are_reported if {
	vs := rule.violations with input as {"now": 1767225600, "resources": [{"type": "AWS::SecretsManager::Secret", "id": "numerix-license", "account": "111122223333", "region": "us-east-1", "configuration": {"rotation_enabled": false, "rotation_days": null, "last_rotated": null}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	{v.msg | some v in vs} == {"secret numerix-license has no automatic rotation"}
	every v in vs {
		v.id == "secretsmanager.rotation"
		v.severity == "medium"
		v.controls == ["CC6.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::SecretsManager::Secret", "id": "db", "account": "111122223333", "region": "us-east-1", "configuration": {"rotation_enabled": true, "rotation_days": 30, "last_rotated": 1767225600}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "secretsmanager.rotation"
	rule.metadata.controls == ["CC6.1"]
	rule.metadata.resource_types == ["AWS::SecretsManager::Secret"]
	rule.metadata.hint == "aws secretsmanager rotate-secret --secret-id <secret> --rotation-lambda-arn <function> --rotation-rules AutomaticallyAfterDays=90 (or a managed rotation)."
	rule.metadata.seed == "002 Phase 7 Data Security: Rotate API keys automatically; configure secret rotation"
}
