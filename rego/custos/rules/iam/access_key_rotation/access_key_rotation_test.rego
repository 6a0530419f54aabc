package custos.rules.iam.access_key_rotation_test

import data.custos.lib
import data.custos.rules.iam.access_key_rotation as rule

now := 1767225600

# What an evaluation at `now` reports: the violations that hold then.
holding := {v | some v in rule.violations; lib.holds(v, now)}

test_planted_violations_are_reported if {
	vs := holding with input as {"resources": [{"type": "AWS::IAM::User", "id": "alice", "account": "111122223333", "region": "us-east-1", "configuration": {"password_enabled": false, "mfa_active": false, "access_keys": [{"active": true, "last_rotated": 1758585600, "last_used": 1767225600}]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	{v.msg | some v in vs} == {"access key 1 of IAM user alice was not rotated within 90 days"}
	every v in vs {
		v.id == "iam.access_key_rotation"
		v.severity == "medium"
		v.controls == ["CC6.1"]
	}
}

test_clean_twins_pass if {
	count(holding) == 0 with input as {"resources": [{"type": "AWS::IAM::User", "id": "bob", "account": "111122223333", "region": "us-east-1", "configuration": {"password_enabled": false, "mfa_active": false, "access_keys": [{"active": true, "last_rotated": 1766361600, "last_used": 1767225600}, {"active": false, "last_rotated": 1732665600, "last_used": null}]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
}

test_due_ninety_days_after_the_rotation_at_once_when_never_rotated if {
	vs := rule.violations with input as {"resources": [{"type": "AWS::IAM::User", "id": "carol", "account": "111122223333", "region": "us-east-1", "configuration": {"access_keys": [{"active": true, "last_rotated": 1000, "last_used": null}, {"active": true, "last_rotated": null, "last_used": null}, {"active": true}]}}]}
	{[v.msg, object.get(v, "violates_after", "always")] | some v in vs} == {
		["access key 1 of IAM user carol was not rotated within 90 days", 1000 + (90 * 86400)],
		["access key 2 of IAM user carol was not rotated within 90 days", "always"],
		["access key 3 of IAM user carol was not rotated within 90 days", "always"],
	}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "iam.access_key_rotation"
	rule.metadata.controls == ["CC6.1"]
	rule.metadata.resource_types == ["AWS::IAM::User"]
	rule.metadata.hint == "Create a new access key, move its users to it, deactivate and then delete the old one (aws iam create-access-key / update-access-key / delete-access-key)."
	rule.metadata.seed == "002 Phase 0 Identity and Access Management: 90-day rotation"
}
