package custos.rules.s3.account_public_access_block_test

import data.custos.rules.s3.account_public_access_block as rule

# The input with every type of its resources listed where each was seen: completely (true) or not (false).
listed(inp, complete) := object.union(inp, {"coverage": {t: {a: {x.region: complete | some x in inp.resources; x.type == t; x.account == a} | some y in inp.resources; y.type == t; a := y.account} | some z in inp.resources; t := z.type}})

test_planted_violations_are_reported if {
	vs := rule.violations with input as listed({"now": 1767225600, "resources": [{"type": "AWS::S3::AccountPublicAccessBlock", "id": "111122223333", "account": "111122223333", "region": "us-east-1", "configuration": {"public_access_block": null}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
	{v.msg | some v in vs} == {"account 111122223333 S3 Block Public Access is off: block_public_acls, ignore_public_acls, block_public_policy, restrict_public_buckets"}
	every v in vs {
		v.id == "s3.account_public_access_block"
		v.severity == "high"
		v.controls == ["CC6.6"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::S3::AccountPublicAccessBlock", "id": "444455556666", "account": "444455556666", "region": "us-east-1", "configuration": {"public_access_block": {"block_public_acls": true, "ignore_public_acls": true, "block_public_policy": true, "restrict_public_buckets": true}}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "s3.account_public_access_block"
	rule.metadata.controls == ["CC6.6"]
	rule.metadata.resource_types == ["AWS::S3::AccountPublicAccessBlock"]
	rule.metadata.hint == "aws s3control put-public-access-block --account-id <account> with all four settings true."
	rule.metadata.seed == "002 Phase 0 Encryption and Key Management: Enable S3 Block Public Access account-wide"
}

test_not_listed_completely_is_no_verdict if {
	# The same planted state, but the run did not list its types completely (or at all): no verdict.
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::S3::AccountPublicAccessBlock", "id": "111122223333", "account": "111122223333", "region": "us-east-1", "configuration": {"public_access_block": null}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::S3::AccountPublicAccessBlock", "id": "111122223333", "account": "111122223333", "region": "us-east-1", "configuration": {"public_access_block": null}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, false)
}
