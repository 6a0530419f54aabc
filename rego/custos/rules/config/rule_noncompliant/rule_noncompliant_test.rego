package custos.rules.config.rule_noncompliant_test

import data.custos.rules.config.rule_noncompliant as rule

test_planted_violations_are_reported if {
	vs := rule.violations with input as {"now": 1767225600, "resources": [{"type": "AWS::Config::ConfigRule", "id": "encrypted-volumes", "account": "111122223333", "region": "us-east-1", "configuration": {"owner": "AWS", "identifier": "ENCRYPTED_VOLUMES", "compliance": "NON_COMPLIANT", "non_compliant_resources": 2}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	{v.msg | some v in vs} == {"AWS Config rule encrypted-volumes (ENCRYPTED_VOLUMES) is NON_COMPLIANT (2 resources)"}
	every v in vs {
		v.id == "config.rule_noncompliant"
		v.severity == "medium"
		v.controls == ["CC7.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::Config::ConfigRule", "id": "s3-logging", "account": "111122223333", "region": "us-east-1", "configuration": {"owner": "AWS", "identifier": "S3_BUCKET_LOGGING_ENABLED", "compliance": "COMPLIANT", "non_compliant_resources": null}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "config.rule_noncompliant"
	rule.metadata.controls == ["CC7.1"]
	rule.metadata.resource_types == ["AWS::Config::ConfigRule"]
	rule.metadata.hint == "Open the rule in AWS Config, fix the non-compliant resources it lists (or remediate through Custos where a rule of its own covers them), then re-evaluate (aws configservice start-config-rules-evaluation)."
	rule.metadata.seed == "004 AWS Config Rules (ENCRYPTED_VOLUMES, RDS_STORAGE_ENCRYPTED, S3_BUCKET_PUBLIC_READ_PROHIBITED, S3_BUCKET_PUBLIC_WRITE_PROHIBITED, S3_BUCKET_LOGGING_ENABLED)"
}
