package custos.rules.s3.bucket_kms_encryption_test

import data.custos.rules.s3.bucket_kms_encryption

bucket(encryption) := {
	"type": "AWS::S3::Bucket",
	"id": "wealth-statements",
	"account": "111122223333",
	"region": "eu-west-1",
	"configuration": {"acl_grants": [], "policy_statements": [], "public_access_block": null, "encryption": encryption, "versioning": "Enabled", "logging": null, "lifecycle_rules": []},
}

resource := {"type": "AWS::S3::Bucket", "id": "wealth-statements", "account": "111122223333", "region": "eu-west-1"}

test_unencrypted_bucket_is_a_violation if {
	vs := bucket_kms_encryption.violations with input as {"resources": [bucket(null)]}
	count(vs) == 1
	some v in vs
	v.id == "s3.bucket_kms_encryption"
	v.severity == "high"
	v.controls == ["CC6.1", "CC6.7", "C1.1"]
	v.resource == resource
	v.msg == "bucket wealth-statements has no default encryption"
	v.rule.remediation == "s3_default_encryption_kms"
}

test_sse_s3_bucket_is_a_violation if {
	vs := bucket_kms_encryption.violations with input as {"resources": [bucket({"algorithm": "AES256", "kms_key_id": null})]}
	count(vs) == 1
	some v in vs
	v.id == "s3.bucket_kms_encryption"
	v.resource == resource
	v.msg == "bucket wealth-statements encrypts by default with AES256, not with a KMS key"
}

test_unreported_encryption_fails_closed if {
	b := bucket({"algorithm": "AES256", "kms_key_id": null})
	no_field := object.union(object.remove(b, ["configuration"]), {"configuration": object.remove(b.configuration, ["encryption"])})
	vs := bucket_kms_encryption.violations with input as {"resources": [no_field]}
	{v.msg | some v in vs} == {"bucket wealth-statements has no default encryption"}
}

test_kms_and_dsse_kms_buckets_pass if {
	kms := bucket({"algorithm": "aws:kms", "kms_key_id": "arn:aws:kms:eu-west-1:111122223333:key/1234"})
	dsse := object.union(bucket({"algorithm": "aws:kms:dsse", "kms_key_id": null}), {"id": "wealth-archive"})
	count(bucket_kms_encryption.violations) == 0 with input as {"resources": [kms, dsse]}
}

test_other_resource_types_pass if {
	other := {"type": "AWS::EC2::Volume", "id": "vol-1", "account": "111122223333", "region": "eu-west-1", "configuration": {"encrypted": false, "state": "in-use"}}
	count(bucket_kms_encryption.violations) == 0 with input as {"resources": [other]}
}

test_metadata_comes_from_the_annotations if {
	bucket_kms_encryption.metadata == {
		"id": "s3.bucket_kms_encryption",
		"title": "S3 bucket default encryption does not use KMS",
		"description": "A bucket with no default encryption, or whose default encryption is not SSE-KMS (aws:kms) or\nDSSE-KMS (aws:kms:dsse), e.g. SSE-S3 (AES256). A bucket whose encryption is not reported fails.\n",
		"severity": "high",
		"controls": ["CC6.1", "CC6.7", "C1.1"],
		"resource_types": ["AWS::S3::Bucket"],
		"remediation": "s3_default_encryption_kms",
		"scope": "resource",
		"reads": [],
		"package": "custos.rules.s3.bucket_kms_encryption",
	}
}
