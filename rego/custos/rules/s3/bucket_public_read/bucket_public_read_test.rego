package custos.rules.s3.bucket_public_read_test

import data.custos.rules.s3.bucket_public_read

block_all := {"block_public_acls": true, "ignore_public_acls": true, "block_public_policy": true, "restrict_public_buckets": true}

bucket(config) := {
	"type": "AWS::S3::Bucket",
	"id": "wealth-client-documents",
	"account": "111122223333",
	"region": "us-east-1",
	"configuration": object.union({"acl_grants": [], "policy_statements": [], "public_access_block": null}, config),
}

all_users_read := {"grantee_uri": "http://acs.amazonaws.com/groups/global/AllUsers", "permission": "READ"}

test_public_acl_is_a_violation if {
	vs := bucket_public_read.violations with input as {"resources": [bucket({"acl_grants": [all_users_read]})]}
	count(vs) == 1
	some v in vs
	v.id == "s3.bucket_public_read"
	v.severity == "critical"
	v.controls == ["CC6.1", "CC6.6"]
	v.resource == {"type": "AWS::S3::Bucket", "id": "wealth-client-documents", "account": "111122223333", "region": "us-east-1"}
	v.msg == "bucket wealth-client-documents is readable by anyone through its ACL"
	v.rule.remediation == "s3_block_public_access"
}

test_public_policy_is_a_violation if {
	statement := {"effect": "Allow", "principal": "*", "actions": ["s3:GetObject"]}
	vs := bucket_public_read.violations with input as {"resources": [bucket({"policy_statements": [statement]})]}
	{v.msg | some v in vs} == {"bucket wealth-client-documents is readable by anyone through its bucket policy"}
}

test_public_access_block_neutralises_both if {
	statement := {"effect": "Allow", "principal": "*", "actions": ["s3:*"]}
	config := {"acl_grants": [all_users_read], "policy_statements": [statement], "public_access_block": block_all}
	count(bucket_public_read.violations) == 0 with input as {"resources": [bucket(config)]}
}

test_private_bucket_and_other_types_pass if {
	owner := {"grantee_id": "abc123", "permission": "FULL_CONTROL"}
	scoped := {"effect": "Allow", "principal": "arn:aws:iam::111122223333:role/etl", "actions": ["s3:GetObject"]}
	write_only := {"grantee_uri": "http://acs.amazonaws.com/groups/global/AllUsers", "permission": "WRITE"}
	other := {"type": "AWS::EC2::Volume", "id": "vol-1", "configuration": {"acl_grants": [all_users_read]}}
	count(bucket_public_read.violations) == 0 with input as {"resources": [bucket({"acl_grants": [owner, write_only], "policy_statements": [scoped]}), other]}
}

test_metadata_comes_from_the_annotations if {
	bucket_public_read.metadata == {
		"id": "s3.bucket_public_read",
		"title": "S3 bucket allows public read",
		"description": "A bucket whose ACL grants AllUsers or AuthenticatedUsers read, or whose bucket policy allows\nanyone to read objects, unless the bucket's public access block neutralises both.\n",
		"severity": "critical",
		"controls": ["CC6.1", "CC6.6"],
		"resource_types": ["AWS::S3::Bucket"],
		"absence_is_compliance": true,
		"remediation": "s3_block_public_access",
		"scope": "resource",
		"reads": [],
		"package": "custos.rules.s3.bucket_public_read",
	}
}
