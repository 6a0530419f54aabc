# METADATA
# title: S3 bucket versioning is not enabled
# description: |
#   A bucket whose versioning is Suspended or Off (or not reported), so overwritten or deleted objects
#   cannot be recovered.
# custom:
#   id: s3.bucket_versioning
#   scope: resource
#   reads: []
#   severity: medium
#   controls: [A1.2]
#   resource_types: [AWS::S3::Bucket]
#   remediation: s3_enable_versioning
#   auto_remediate: true
package custos.rules.s3.bucket_versioning

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

versioning_enabled(config) if config.versioning == "Enabled"

state(bucket) := s if {
	s := bucket.configuration.versioning
} else := "not reported"

violations contains v if {
	some bucket in lib.resources("AWS::S3::Bucket")
	not versioning_enabled(bucket.configuration)
	msg := sprintf("bucket %s does not have versioning enabled (versioning is %v)", [bucket.id, state(bucket)])
	v := lib.violation(rego.metadata.chain(), bucket, msg)
}
