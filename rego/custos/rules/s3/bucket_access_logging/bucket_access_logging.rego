# METADATA
# title: S3 bucket access logging is not enabled
# description: |
#   A bucket without server access logging (or whose logging is not reported), so requests against it
#   leave no audit trail.
# custom:
#   id: s3.bucket_access_logging
#   scope: resource
#   reads: []
#   severity: medium
#   controls: [CC7.2]
#   resource_types: [AWS::S3::Bucket]
package custos.rules.s3.bucket_access_logging

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

logging_enabled(config) if config.logging != null

violations contains v if {
	some bucket in lib.resources("AWS::S3::Bucket")
	not logging_enabled(bucket.configuration)
	v := lib.violation(rego.metadata.chain(), bucket, sprintf("bucket %s has no server access logging", [bucket.id]))
}
