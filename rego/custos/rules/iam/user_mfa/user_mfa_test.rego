package custos.rules.iam.user_mfa_test

import data.custos.rules.iam.user_mfa as rule

test_planted_violations_are_reported if {
	vs := rule.violations with input as {"now": 1767225600, "resources": [{"type": "AWS::IAM::User", "id": "alice", "account": "111122223333", "region": "us-east-1", "configuration": {"password_enabled": true, "mfa_active": false, "access_keys": []}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	{v.msg | some v in vs} == {"IAM user alice of account 111122223333 can sign in to the console without MFA"}
	every v in vs {
		v.id == "iam.user_mfa"
		v.severity == "high"
		v.controls == ["CC6.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::IAM::User", "id": "bob", "account": "111122223333", "region": "us-east-1", "configuration": {"password_enabled": true, "mfa_active": true, "access_keys": []}}, {"type": "AWS::IAM::User", "id": "svc", "account": "111122223333", "region": "us-east-1", "configuration": {"password_enabled": false, "mfa_active": false, "access_keys": []}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "iam.user_mfa"
	rule.metadata.controls == ["CC6.1"]
	rule.metadata.resource_types == ["AWS::IAM::User"]
	rule.metadata.hint == "Assign an MFA device to the user (aws iam enable-mfa-device), or remove the console password (aws iam delete-login-profile) if the user does not need it."
	rule.metadata.seed == "002 Phase 0 Identity and Access Management: Enable MFA for all IAM users"
}
