package custos.rules.s3.bucket_versioning_test

import data.custos.rules.s3.bucket_versioning

bucket(id, versioning) := {
	"type": "AWS::S3::Bucket",
	"id": id,
	"account": "111122223333",
	"region": "us-east-1",
	"configuration": {"acl_grants": [], "policy_statements": [], "public_access_block": null, "encryption": null, "versioning": versioning, "logging": null, "lifecycle_rules": []},
}

test_suspended_versioning_is_a_violation if {
	vs := bucket_versioning.violations with input as {"resources": [bucket("wealth-ledger", "Suspended")]}
	count(vs) == 1
	some v in vs
	v.id == "s3.bucket_versioning"
	v.severity == "medium"
	v.controls == ["A1.2"]
	v.resource == {"type": "AWS::S3::Bucket", "id": "wealth-ledger", "account": "111122223333", "region": "us-east-1"}
	v.msg == "bucket wealth-ledger does not have versioning enabled (versioning is Suspended)"
	v.rule.remediation == "s3_enable_versioning"
}

test_each_unversioned_bucket_is_a_violation if {
	resources := [bucket("a", "Off"), bucket("b", "Suspended"), bucket("c", "Enabled")]
	vs := bucket_versioning.violations with input as {"resources": resources}
	{v.msg | some v in vs} == {
		"bucket a does not have versioning enabled (versioning is Off)",
		"bucket b does not have versioning enabled (versioning is Suspended)",
	}
}

test_unreported_versioning_fails_closed if {
	b := bucket("wealth-ledger", "Off")
	no_field := object.union(object.remove(b, ["configuration"]), {"configuration": object.remove(b.configuration, ["versioning"])})
	vs := bucket_versioning.violations with input as {"resources": [no_field]}
	{v.msg | some v in vs} == {"bucket wealth-ledger does not have versioning enabled (versioning is not reported)"}
}

test_versioned_bucket_and_other_types_pass if {
	other := {"type": "AWS::RDS::DBInstance", "id": "db-1", "account": "111122223333", "region": "us-east-1", "configuration": {"engine": "postgres", "storage_encrypted": true, "backup_retention_period": 7}}
	count(bucket_versioning.violations) == 0 with input as {"resources": [bucket("wealth-ledger", "Enabled"), other]}
}

test_metadata_comes_from_the_annotations if {
	bucket_versioning.metadata == {
		"id": "s3.bucket_versioning",
		"title": "S3 bucket versioning is not enabled",
		"description": "A bucket whose versioning is Suspended or Off (or not reported), so overwritten or deleted objects\ncannot be recovered.\n",
		"severity": "medium",
		"controls": ["A1.2"],
		"resource_types": ["AWS::S3::Bucket"],
		"remediation": "s3_enable_versioning",
		"auto_remediate": true,
		"scope": "resource",
		"reads": [],
		"package": "custos.rules.s3.bucket_versioning",
	}
}
