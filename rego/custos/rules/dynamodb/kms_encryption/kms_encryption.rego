# METADATA
# title: DynamoDB table not encrypted with KMS
# description: "A DynamoDB table encrypted only with the AWS-owned default key, not a KMS key."
# custom:
#   id: dynamodb.kms_encryption
#   scope: resource
#   reads: []
#   severity: medium
#   controls: [CC6.1, C1.1]
#   resource_types: [AWS::DynamoDB::Table]
#   hint: "aws dynamodb update-table --sse-specification Enabled=true,SSEType=KMS,KMSMasterKeyId=<customer managed key>."
#   seed: "002 Phase 0 Encryption and Key Management: customer-managed KMS keys; 004 data encrypted using customer-managed KMS keys"
#   absence_is_compliance: true
package custos.rules.dynamodb.kms_encryption

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some r in lib.resources("AWS::DynamoDB::Table")
	not r.configuration.sse_type == "KMS"
	msg := concat("", ["DynamoDB table ", r.id, " is not encrypted with a KMS key (", r.configuration.sse_type, ")"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
