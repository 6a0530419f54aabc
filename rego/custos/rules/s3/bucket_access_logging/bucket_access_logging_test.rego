package custos.rules.s3.bucket_access_logging_test

import data.custos.rules.s3.bucket_access_logging

bucket(logging) := {
	"type": "AWS::S3::Bucket",
	"id": "wealth-client-documents",
	"account": "111122223333",
	"region": "us-east-1",
	"configuration": {"acl_grants": [], "policy_statements": [], "public_access_block": null, "encryption": null, "versioning": "Enabled", "logging": logging, "lifecycle_rules": []},
}

test_bucket_without_logging_is_a_violation if {
	vs := bucket_access_logging.violations with input as {"resources": [bucket(null)]}
	count(vs) == 1
	some v in vs
	v.id == "s3.bucket_access_logging"
	v.severity == "medium"
	v.controls == ["CC7.2"]
	v.resource == {"type": "AWS::S3::Bucket", "id": "wealth-client-documents", "account": "111122223333", "region": "us-east-1"}
	v.msg == "bucket wealth-client-documents has no server access logging"
	v.rule.remediation == "none"
}

test_unreported_logging_fails_closed if {
	b := bucket({"target_bucket": "wealth-access-logs", "target_prefix": ""})
	no_field := object.union(object.remove(b, ["configuration"]), {"configuration": object.remove(b.configuration, ["logging"])})
	vs := bucket_access_logging.violations with input as {"resources": [no_field]}
	{v.msg | some v in vs} == {"bucket wealth-client-documents has no server access logging"}
}

test_logged_bucket_and_other_types_pass if {
	logged := bucket({"target_bucket": "wealth-access-logs", "target_prefix": "client-documents/"})
	other := {"type": "AWS::CloudTrail::Trail", "id": "main", "account": "111122223333", "region": "us-east-1", "configuration": {"logging": null}}
	count(bucket_access_logging.violations) == 0 with input as {"resources": [logged, other]}
}

test_metadata_comes_from_the_annotations if {
	bucket_access_logging.metadata == {
		"id": "s3.bucket_access_logging",
		"title": "S3 bucket access logging is not enabled",
		"description": "A bucket without server access logging (or whose logging is not reported), so requests against it\nleave no audit trail.\n",
		"severity": "medium",
		"controls": ["CC7.2"],
		"resource_types": ["AWS::S3::Bucket"],
		"remediation": "none",
		"scope": "resource",
		"reads": [],
		"package": "custos.rules.s3.bucket_access_logging",
	}
}
