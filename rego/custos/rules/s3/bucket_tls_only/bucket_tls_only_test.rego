package custos.rules.s3.bucket_tls_only_test

import data.custos.rules.s3.bucket_tls_only as rule

test_planted_violations_are_reported if {
	vs := rule.violations with input as {"now": 1767225600, "resources": [{"type": "AWS::S3::Bucket", "id": "b1", "account": "111122223333", "region": "us-east-1", "configuration": {"denies_insecure_transport": false}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	{v.msg | some v in vs} == {"bucket b1 does not deny requests without TLS"}
	every v in vs {
		v.id == "s3.bucket_tls_only"
		v.severity == "medium"
		v.controls == ["CC6.7"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::S3::Bucket", "id": "b2", "account": "111122223333", "region": "us-east-1", "configuration": {"denies_insecure_transport": true}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "s3.bucket_tls_only"
	rule.metadata.controls == ["CC6.7"]
	rule.metadata.resource_types == ["AWS::S3::Bucket"]
	rule.metadata.hint == "Add to the bucket policy: Effect Deny, Principal *, Action s3:*, Resource the bucket and its objects, Condition Bool aws:SecureTransport false."
	rule.metadata.seed == "002 Phase 0 (encryption in transit); AWS Config s3-bucket-ssl-requests-only"
}
