# METADATA
# title: DynamoDB table without point-in-time recovery
# description: "A DynamoDB table whose point-in-time recovery is off."
# custom:
#   id: dynamodb.pitr
#   scope: resource
#   reads: []
#   severity: medium
#   controls: [A1.2]
#   resource_types: [AWS::DynamoDB::Table]
#   hint: "aws dynamodb update-continuous-backups --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true."
#   seed: "002 Phase 0 Backup and Disaster Recovery: Enable DynamoDB point-in-time recovery; 004 DynamoDB PITR"
#   absence_is_compliance: true
package custos.rules.dynamodb.pitr

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some r in lib.resources("AWS::DynamoDB::Table")
	not r.configuration.point_in_time_recovery == true
	msg := concat("", ["DynamoDB table ", r.id, " has no point-in-time recovery"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
