package custos.rules.iam.unused_credentials_test

import data.custos.lib
import data.custos.rules.iam.unused_credentials as rule

now := 1767225600

# What an evaluation at `now` reports: the violations that hold then.
holding := {v | some v in rule.violations; lib.holds(v, now)}

test_planted_violations_are_reported if {
	vs := holding with input as {"resources": [{"type": "AWS::IAM::User", "id": "alice", "account": "111122223333", "region": "us-east-1", "configuration": {"created": 1732665600, "password_enabled": true, "password_last_used": 1759363200, "mfa_active": true, "access_keys": [{"active": true, "last_rotated": 1749945600, "last_used": null}]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	{v.msg | some v in vs} == {"access key 1 of IAM user alice not used for 90 days", "console password of IAM user alice not used for 90 days"}
	every v in vs {
		v.id == "iam.unused_credentials"
		v.severity == "medium"
		v.controls == ["CC6.1", "CC6.2"]
	}
}

test_clean_twins_pass if {
	count(holding) == 0 with input as {"resources": [{"type": "AWS::IAM::User", "id": "bob", "account": "111122223333", "region": "us-east-1", "configuration": {"created": 1732665600, "password_enabled": true, "password_last_used": 1766793600, "mfa_active": true, "access_keys": [{"active": true, "last_rotated": 1749945600, "last_used": 1767139200}]}}, {"type": "AWS::IAM::User", "id": "new", "account": "111122223333", "region": "us-east-1", "configuration": {"created": 1766793600, "password_enabled": true, "password_last_used": null, "mfa_active": true, "access_keys": []}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
}

test_due_ninety_days_after_the_last_use_or_the_fallback_at_once_when_both_unknown if {
	vs := rule.violations with input as {"resources": [
		{"type": "AWS::IAM::User", "id": "used", "account": "1", "region": "r", "configuration": {"created": 10, "password_enabled": true, "password_last_used": 1000, "access_keys": [{"active": true, "last_rotated": 20, "last_used": 2000}]}},
		{"type": "AWS::IAM::User", "id": "never", "account": "1", "region": "r", "configuration": {"created": 10, "password_enabled": true, "password_last_used": null, "access_keys": [{"active": true, "last_rotated": 20, "last_used": null}]}},
		{"type": "AWS::IAM::User", "id": "unknown", "account": "1", "region": "r", "configuration": {"password_enabled": true, "access_keys": [{"active": true, "last_rotated": null, "last_used": null}]}},
	]}
	{[v.msg, object.get(v, "violates_after", "always")] | some v in vs} == {
		["console password of IAM user used not used for 90 days", 1000 + (90 * 86400)],
		["access key 1 of IAM user used not used for 90 days", 2000 + (90 * 86400)],
		["console password of IAM user never not used for 90 days", 10 + (90 * 86400)],
		["access key 1 of IAM user never not used for 90 days", 20 + (90 * 86400)],
		["console password of IAM user unknown not used for 90 days", "always"],
		["access key 1 of IAM user unknown not used for 90 days", "always"],
	}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "iam.unused_credentials"
	rule.metadata.controls == ["CC6.1", "CC6.2"]
	rule.metadata.resource_types == ["AWS::IAM::User"]
	rule.metadata.hint == "Remove the unused password (aws iam delete-login-profile) or deactivate and delete the unused key; a user who needs neither should be removed."
	rule.metadata.seed == "002 Phase 0 Identity and Access Management: least-privilege IAM (CIS 1.12: credentials unused for 45/90 days disabled)"
}
