package custos.rules.iam.root_access_keys_test

import data.custos.rules.iam.root_access_keys as rule

# The input with every type of its resources listed where each was seen: completely (true) or not (false).
listed(inp, complete) := object.union(inp, {"coverage": {t: {a: {x.region: complete | some x in inp.resources; x.type == t; x.account == a} | some y in inp.resources; y.type == t; a := y.account} | some z in inp.resources; t := z.type}})

test_planted_violations_are_reported if {
	vs := rule.violations with input as listed({"now": 1767225600, "resources": [{"type": "AWS::IAM::AccountSummary", "id": "111122223333", "account": "111122223333", "region": "us-east-1", "configuration": {"account_mfa_enabled": true, "root_access_keys_present": true}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
	{v.msg | some v in vs} == {"root user of account 111122223333 has access keys"}
	every v in vs {
		v.id == "iam.root_access_keys"
		v.severity == "critical"
		v.controls == ["CC6.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::IAM::AccountSummary", "id": "444455556666", "account": "444455556666", "region": "us-east-1", "configuration": {"account_mfa_enabled": true, "root_access_keys_present": false}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "iam.root_access_keys"
	rule.metadata.controls == ["CC6.1"]
	rule.metadata.resource_types == ["AWS::IAM::AccountSummary"]
	rule.metadata.hint == "Delete the root user's access keys (signed in as root: Security credentials, Access keys, Delete); use IAM roles instead."
	rule.metadata.seed == "002 Phase 0 Identity and Access Management: Delete root account access keys"
}

test_not_listed_completely_is_no_verdict if {
	# The same planted state, but the run did not list its types completely (or at all): no verdict.
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::IAM::AccountSummary", "id": "111122223333", "account": "111122223333", "region": "us-east-1", "configuration": {"account_mfa_enabled": true, "root_access_keys_present": true}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::IAM::AccountSummary", "id": "111122223333", "account": "111122223333", "region": "us-east-1", "configuration": {"account_mfa_enabled": true, "root_access_keys_present": true}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, false)
}
