# METADATA
# title: S3 bucket allows public write
# description: |
#   A bucket whose ACL grants AllUsers or AuthenticatedUsers write, write-ACP or full control, or whose
#   bucket policy allows anyone to put or delete objects, unless the bucket's public access block
#   neutralises it (ignore_public_acls for ACLs, restrict_public_buckets for the policy).
# custom:
#   id: s3.bucket_public_write
#   scope: resource
#   reads: []
#   severity: critical
#   controls: [CC6.1, CC6.6]
#   resource_types: [AWS::S3::Bucket]
#   absence_is_compliance: true
#   remediation: s3_block_public_access
package custos.rules.s3.bucket_public_write

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

public_groups := {
	"http://acs.amazonaws.com/groups/global/AllUsers",
	"http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}

write_permissions := {"WRITE", "WRITE_ACP", "FULL_CONTROL"}

write_actions := {"s3:PutObject", "s3:DeleteObject", "s3:*", "*"}

acl_public_write(config) if {
	some grant in config.acl_grants
	grant.grantee_uri in public_groups
	grant.permission in write_permissions
	not config.public_access_block.ignore_public_acls
}

policy_public_write(config) if {
	some statement in config.policy_statements
	statement.effect == "Allow"
	statement.principal == "*"
	some action in statement.actions
	action in write_actions
	not config.public_access_block.restrict_public_buckets
}

violations contains v if {
	some bucket in lib.resources("AWS::S3::Bucket")
	acl_public_write(bucket.configuration)
	v := lib.violation(rego.metadata.chain(), bucket, sprintf("bucket %s is writable by anyone through its ACL", [bucket.id]))
}

violations contains v if {
	some bucket in lib.resources("AWS::S3::Bucket")
	policy_public_write(bucket.configuration)
	v := lib.violation(rego.metadata.chain(), bucket, sprintf("bucket %s is writable by anyone through its bucket policy", [bucket.id]))
}
