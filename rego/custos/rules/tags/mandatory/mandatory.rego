# METADATA
# title: Mandatory tags missing
# description: "A data store (S3 bucket, RDS/Aurora cluster or instance, DynamoDB table, secret) without one of the mandatory tags Environment, CostCenter, Compliance, DataClassification."
# custom:
#   id: tags.mandatory
#   scope: resource
#   reads: []
#   severity: low
#   controls: [CC6.1]
#   resource_types: [AWS::S3::Bucket, AWS::RDS::DBCluster, AWS::RDS::DBInstance, AWS::DynamoDB::Table, AWS::SecretsManager::Secret]
#   hint: "Tag the resource with Environment, CostCenter, Compliance and DataClassification (an SCP or tag policy can require them at creation)."
#   seed: "004 Tagging Strategy (Environment, CostCenter, Compliance, DataClassification)"
#   absence_is_compliance: true
package custos.rules.tags.mandatory

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

mandatory := ["Environment", "CostCenter", "Compliance", "DataClassification"]

tagged_types := {"AWS::S3::Bucket", "AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::DynamoDB::Table", "AWS::SecretsManager::Secret"}

violations contains v if {
	some r in input.resources
	r.type in tagged_types
	tags := object.get(r, "tags", {})
	missing := [k | some k in mandatory; not tags[k]]
	count(missing) > 0
	msg := concat("", [r.type, " ", r.id, " lacks the mandatory tags ", concat(", ", missing)])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
