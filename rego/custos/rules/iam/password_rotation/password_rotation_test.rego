package custos.rules.iam.password_rotation_test

import data.custos.rules.iam.password_rotation as rule

# The input with every type of its resources listed where each was seen: completely (true) or not (false).
listed(inp, complete) := object.union(inp, {"coverage": {t: {a: {x.region: complete | some x in inp.resources; x.type == t; x.account == a} | some y in inp.resources; y.type == t; a := y.account} | some z in inp.resources; t := z.type}})

test_planted_violations_are_reported if {
	vs := rule.violations with input as listed({"now": 1767225600, "resources": [{"type": "AWS::IAM::PasswordPolicy", "id": "111122223333", "account": "111122223333", "region": "us-east-1", "configuration": {"present": true, "password_reuse_prevention": 5, "max_password_age": null}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
	{v.msg | some v in vs} == {"password policy of account 111122223333 does not prevent reuse of the last 24 passwords", "password policy of account 111122223333 lets passwords live longer than 90 days"}
	every v in vs {
		v.id == "iam.password_rotation"
		v.severity == "medium"
		v.controls == ["CC6.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::IAM::PasswordPolicy", "id": "444455556666", "account": "444455556666", "region": "us-east-1", "configuration": {"present": true, "password_reuse_prevention": 24, "max_password_age": 90}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "iam.password_rotation"
	rule.metadata.controls == ["CC6.1"]
	rule.metadata.resource_types == ["AWS::IAM::PasswordPolicy"]
	rule.metadata.hint == "aws iam update-account-password-policy --password-reuse-prevention 24 --max-password-age 90 (keeping the length and complexity settings)."
	rule.metadata.seed == "002 Phase 0 Identity and Access Management: IAM password policy (14+ chars, complexity, 90-day rotation)"
}

test_not_listed_completely_is_no_verdict if {
	# The same planted state, but the run did not list its types completely (or at all): no verdict.
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::IAM::PasswordPolicy", "id": "111122223333", "account": "111122223333", "region": "us-east-1", "configuration": {"present": true, "password_reuse_prevention": 5, "max_password_age": null}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::IAM::PasswordPolicy", "id": "111122223333", "account": "111122223333", "region": "us-east-1", "configuration": {"present": true, "password_reuse_prevention": 5, "max_password_age": null}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, false)
}
