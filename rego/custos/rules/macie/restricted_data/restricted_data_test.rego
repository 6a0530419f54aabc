package custos.rules.macie.restricted_data_test

import data.custos.rules.macie.restricted_data as rule

test_planted_violations_are_reported if {
	vs := rule.violations with input as {"now": 1767225600, "resources": [{"type": "AWS::Macie::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"enabled": false, "status": "DISABLED"}}, {"type": "AWS::S3::Bucket", "id": "docs", "account": "111122223333", "region": "us-east-1", "configuration": {}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [{"store": "s3", "database": "docs", "table": "d/", "classification": "restricted", "columns": []}, {"store": "s3", "database": "public-site", "table": "p/", "classification": "public", "columns": []}], "approved_grants": []}}
	{v.msg | some v in vs} == {"Macie is not enabled in account 111122223333 region us-east-1 where buckets hold restricted data: docs"}
	every v in vs {
		v.id == "macie.restricted_data"
		v.severity == "high"
		v.controls == ["CC6.1", "C1.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::Macie::RegionalSettings", "id": "111122223333:eu-west-1", "account": "111122223333", "region": "eu-west-1", "configuration": {"enabled": false, "status": "DISABLED"}}, {"type": "AWS::S3::Bucket", "id": "docs", "account": "111122223333", "region": "us-east-1", "configuration": {}}, {"type": "AWS::S3::Bucket", "id": "public-site", "account": "111122223333", "region": "eu-west-1", "configuration": {}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [{"store": "s3", "database": "docs", "table": "d/", "classification": "restricted", "columns": []}, {"store": "s3", "database": "public-site", "table": "p/", "classification": "public", "columns": []}], "approved_grants": []}}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "macie.restricted_data"
	rule.metadata.controls == ["CC6.1", "C1.1"]
	rule.metadata.resource_types == ["AWS::Macie::RegionalSettings"]
	rule.metadata.hint == "Enable Amazon Macie (aws macie2 enable-macie) in the account and region of the bucket, and schedule sensitive data discovery for it."
	rule.metadata.seed == "002 Phase 0 Security Baseline: Enable AWS Macie for PII detection"
}
