package custos.rules.macie.restricted_data_test

import data.custos.rules.macie.restricted_data as rule

# The input with every type of its resources listed where each was seen: completely (true) or not (false).
listed(inp, complete) := object.union(inp, {"coverage": {t: {a: {x.region: complete | some x in inp.resources; x.type == t; x.account == a} | some y in inp.resources; y.type == t; a := y.account} | some z in inp.resources; t := z.type}})

test_planted_violations_are_reported if {
	vs := rule.violations with input as listed({"now": 1767225600, "resources": [{"type": "AWS::Macie::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"enabled": false, "status": "DISABLED"}}, {"type": "AWS::S3::Bucket", "id": "docs", "account": "111122223333", "region": "us-east-1", "configuration": {}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [{"store": "s3", "database": "docs", "table": "d/", "classification": "restricted", "columns": []}, {"store": "s3", "database": "public-site", "table": "p/", "classification": "public", "columns": []}], "approved_grants": []}}, true)
	{v.msg | some v in vs} == {"Macie is not enabled in account 111122223333 region us-east-1 where buckets hold restricted data: docs"}
	every v in vs {
		v.id == "macie.restricted_data"
		v.severity == "high"
		v.controls == ["CC6.1", "C1.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::Macie::RegionalSettings", "id": "111122223333:eu-west-1", "account": "111122223333", "region": "eu-west-1", "configuration": {"enabled": false, "status": "DISABLED"}}, {"type": "AWS::S3::Bucket", "id": "docs", "account": "111122223333", "region": "us-east-1", "configuration": {}}, {"type": "AWS::S3::Bucket", "id": "public-site", "account": "111122223333", "region": "eu-west-1", "configuration": {}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [{"store": "s3", "database": "docs", "table": "d/", "classification": "restricted", "columns": []}, {"store": "s3", "database": "public-site", "table": "p/", "classification": "public", "columns": []}], "approved_grants": []}}, true)
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "macie.restricted_data"
	rule.metadata.controls == ["CC6.1", "C1.1"]
	rule.metadata.resource_types == ["AWS::Macie::RegionalSettings"]
	rule.metadata.hint == "Enable Amazon Macie (aws macie2 enable-macie) in the account and region of the bucket, and schedule sensitive data discovery for it."
	rule.metadata.seed == "002 Phase 0 Security Baseline: Enable AWS Macie for PII detection"
}

test_not_listed_completely_is_no_verdict if {
	# The same planted state, but the run did not list its types completely (or at all): no verdict.
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::Macie::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"enabled": false, "status": "DISABLED"}}, {"type": "AWS::S3::Bucket", "id": "docs", "account": "111122223333", "region": "us-east-1", "configuration": {}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [{"store": "s3", "database": "docs", "table": "d/", "classification": "restricted", "columns": []}, {"store": "s3", "database": "public-site", "table": "p/", "classification": "public", "columns": []}], "approved_grants": []}}
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::Macie::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"enabled": false, "status": "DISABLED"}}, {"type": "AWS::S3::Bucket", "id": "docs", "account": "111122223333", "region": "us-east-1", "configuration": {}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [{"store": "s3", "database": "docs", "table": "d/", "classification": "restricted", "columns": []}, {"store": "s3", "database": "public-site", "table": "p/", "classification": "public", "columns": []}], "approved_grants": []}}, false)
}
