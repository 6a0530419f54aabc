package custos.rules.iam.root_access_keys_test

import data.custos.rules.iam.root_access_keys as rule

test_planted_violations_are_reported if {
	vs := rule.violations with input as {"now": 1767225600, "resources": [{"type": "AWS::IAM::AccountSummary", "id": "111122223333", "account": "111122223333", "region": "us-east-1", "configuration": {"account_mfa_enabled": true, "root_access_keys_present": true}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	{v.msg | some v in vs} == {"root user of account 111122223333 has access keys"}
	every v in vs {
		v.id == "iam.root_access_keys"
		v.severity == "critical"
		v.controls == ["CC6.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::IAM::AccountSummary", "id": "444455556666", "account": "444455556666", "region": "us-east-1", "configuration": {"account_mfa_enabled": true, "root_access_keys_present": false}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "iam.root_access_keys"
	rule.metadata.controls == ["CC6.1"]
	rule.metadata.resource_types == ["AWS::IAM::AccountSummary"]
	rule.metadata.hint == "Delete the root user's access keys (signed in as root: Security credentials, Access keys, Delete); use IAM roles instead."
	rule.metadata.seed == "002 Phase 0 Identity and Access Management: Delete root account access keys"
}
