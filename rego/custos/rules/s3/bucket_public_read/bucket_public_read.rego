# METADATA
# title: S3 bucket allows public read
# description: |
#   A bucket whose ACL grants AllUsers or AuthenticatedUsers read, or whose bucket policy allows
#   anyone to read objects, unless the bucket's public access block neutralises both.
# custom:
#   id: s3.bucket_public_read
#   scope: resource
#   reads: []
#   severity: critical
#   controls: [CC6.1, CC6.6]
#   resource_types: [AWS::S3::Bucket]
#   absence_is_compliance: true
#   remediation: s3_block_public_access
package custos.rules.s3.bucket_public_read

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

public_groups := {
	"http://acs.amazonaws.com/groups/global/AllUsers",
	"http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}

read_permissions := {"READ", "FULL_CONTROL"}

read_actions := {"s3:GetObject", "s3:*", "*"}

acl_public_read(config) if {
	some grant in config.acl_grants
	grant.grantee_uri in public_groups
	grant.permission in read_permissions
	not config.public_access_block.ignore_public_acls
}

policy_public_read(config) if {
	some statement in config.policy_statements
	statement.effect == "Allow"
	statement.principal == "*"
	some action in statement.actions
	action in read_actions
	not config.public_access_block.restrict_public_buckets
}

violations contains v if {
	some bucket in lib.resources("AWS::S3::Bucket")
	acl_public_read(bucket.configuration)
	v := lib.violation(rego.metadata.chain(), bucket, sprintf("bucket %s is readable by anyone through its ACL", [bucket.id]))
}

violations contains v if {
	some bucket in lib.resources("AWS::S3::Bucket")
	policy_public_read(bucket.configuration)
	v := lib.violation(rego.metadata.chain(), bucket, sprintf("bucket %s is readable by anyone through its bucket policy", [bucket.id]))
}
