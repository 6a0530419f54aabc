package custos.rules.s3.bucket_public_write_test

import data.custos.rules.s3.bucket_public_write

block_all := {"block_public_acls": true, "ignore_public_acls": true, "block_public_policy": true, "restrict_public_buckets": true}

bucket(config) := {
	"type": "AWS::S3::Bucket",
	"id": "wealth-uploads",
	"account": "111122223333",
	"region": "us-east-1",
	"configuration": object.union({"acl_grants": [], "policy_statements": [], "public_access_block": null}, config),
}

resource := {"type": "AWS::S3::Bucket", "id": "wealth-uploads", "account": "111122223333", "region": "us-east-1"}

grant(group, permission) := {"grantee_uri": sprintf("http://acs.amazonaws.com/groups/global/%s", [group]), "permission": permission}

anyone(actions) := {"effect": "Allow", "principal": "*", "actions": actions}

acl_msg := "bucket wealth-uploads is writable by anyone through its ACL"

policy_msg := "bucket wealth-uploads is writable by anyone through its bucket policy"

test_public_acl_write_is_a_violation if {
	vs := bucket_public_write.violations with input as {"resources": [bucket({"acl_grants": [grant("AllUsers", "WRITE")]})]}
	count(vs) == 1
	some v in vs
	v.id == "s3.bucket_public_write"
	v.severity == "critical"
	v.controls == ["CC6.1", "CC6.6"]
	v.resource == resource
	v.msg == acl_msg
	v.rule.remediation == "s3_block_public_access"
}

test_every_write_permission_and_public_group_counts if {
	every group in ["AllUsers", "AuthenticatedUsers"] {
		every permission in ["WRITE", "WRITE_ACP", "FULL_CONTROL"] {
			vs := bucket_public_write.violations with input as {"resources": [bucket({"acl_grants": [grant(group, permission)]})]}
			{v.msg | some v in vs} == {acl_msg}
		}
	}
}

test_public_policy_write_is_a_violation if {
	vs := bucket_public_write.violations with input as {"resources": [bucket({"policy_statements": [anyone(["s3:GetObject", "s3:PutObject"])]})]}
	count(vs) == 1
	some v in vs
	v.id == "s3.bucket_public_write"
	v.severity == "critical"
	v.controls == ["CC6.1", "CC6.6"]
	v.resource == resource
	v.msg == policy_msg
}

test_every_write_action_counts if {
	every action in ["s3:PutObject", "s3:DeleteObject", "s3:*", "*"] {
		vs := bucket_public_write.violations with input as {"resources": [bucket({"policy_statements": [anyone([action])]})]}
		{v.msg | some v in vs} == {policy_msg}
	}
}

test_acl_and_policy_are_two_violations if {
	config := {"acl_grants": [grant("AllUsers", "FULL_CONTROL")], "policy_statements": [anyone(["*"])]}
	vs := bucket_public_write.violations with input as {"resources": [bucket(config)]}
	{v.msg | some v in vs} == {acl_msg, policy_msg}
}

test_public_access_block_neutralises_both if {
	config := {"acl_grants": [grant("AllUsers", "WRITE")], "policy_statements": [anyone(["s3:*"])], "public_access_block": block_all}
	count(bucket_public_write.violations) == 0 with input as {"resources": [bucket(config)]}
}

test_each_block_setting_neutralises_only_its_own_path if {
	acls_ignored := object.union(block_all, {"restrict_public_buckets": false})
	config_a := {"acl_grants": [grant("AllUsers", "WRITE")], "policy_statements": [anyone(["s3:PutObject"])], "public_access_block": acls_ignored}
	vs_a := bucket_public_write.violations with input as {"resources": [bucket(config_a)]}
	{v.msg | some v in vs_a} == {policy_msg}

	policy_restricted := object.union(block_all, {"ignore_public_acls": false})
	config_b := object.union(config_a, {"public_access_block": policy_restricted})
	vs_b := bucket_public_write.violations with input as {"resources": [bucket(config_b)]}
	{v.msg | some v in vs_b} == {acl_msg}
}

test_read_only_deny_and_scoped_access_pass if {
	config := {
		"acl_grants": [
			grant("AllUsers", "READ"),
			grant("AuthenticatedUsers", "READ_ACP"),
			{"grantee_id": "abc123", "permission": "FULL_CONTROL"},
			{"grantee_uri": "http://acs.amazonaws.com/groups/s3/LogDelivery", "permission": "WRITE"},
		],
		"policy_statements": [
			anyone(["s3:GetObject", "s3:ListBucket"]),
			{"effect": "Deny", "principal": "*", "actions": ["s3:*"]},
			{"effect": "Allow", "principal": "arn:aws:iam::111122223333:role/etl", "actions": ["s3:PutObject"]},
		],
	}
	count(bucket_public_write.violations) == 0 with input as {"resources": [bucket(config)]}
}

test_other_resource_types_pass if {
	other := {"type": "AWS::EC2::Volume", "id": "vol-1", "account": "111122223333", "region": "us-east-1", "configuration": {"acl_grants": [grant("AllUsers", "WRITE")], "policy_statements": [anyone(["*"])], "public_access_block": null}}
	count(bucket_public_write.violations) == 0 with input as {"resources": [other]}
}

test_metadata_comes_from_the_annotations if {
	bucket_public_write.metadata == {
		"id": "s3.bucket_public_write",
		"title": "S3 bucket allows public write",
		"description": "A bucket whose ACL grants AllUsers or AuthenticatedUsers write, write-ACP or full control, or whose\nbucket policy allows anyone to put or delete objects, unless the bucket's public access block\nneutralises it (ignore_public_acls for ACLs, restrict_public_buckets for the policy).\n",
		"severity": "critical",
		"controls": ["CC6.1", "CC6.6"],
		"resource_types": ["AWS::S3::Bucket"],
		"absence_is_compliance": true,
		"remediation": "s3_block_public_access",
		"scope": "resource",
		"reads": [],
		"package": "custos.rules.s3.bucket_public_write",
	}
}
