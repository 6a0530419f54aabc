# METADATA
# title: S3 bucket default encryption does not use KMS
# description: |
#   A bucket with no default encryption, or whose default encryption is not SSE-KMS (aws:kms) or
#   DSSE-KMS (aws:kms:dsse), e.g. SSE-S3 (AES256). A bucket whose encryption is not reported fails.
# custom:
#   id: s3.bucket_kms_encryption
#   scope: resource
#   reads: []
#   severity: high
#   controls: [CC6.1, CC6.7, C1.1]
#   resource_types: [AWS::S3::Bucket]
#   remediation: s3_default_encryption_kms
package custos.rules.s3.bucket_kms_encryption

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

kms_algorithms := {"aws:kms", "aws:kms:dsse"}

kms_encrypted(config) if config.encryption.algorithm in kms_algorithms

message(bucket) := msg if {
	algorithm := bucket.configuration.encryption.algorithm
	msg := sprintf("bucket %s encrypts by default with %v, not with a KMS key", [bucket.id, algorithm])
} else := sprintf("bucket %s has no default encryption", [bucket.id])

violations contains v if {
	some bucket in lib.resources("AWS::S3::Bucket")
	not kms_encrypted(bucket.configuration)
	v := lib.violation(rego.metadata.chain(), bucket, message(bucket))
}
