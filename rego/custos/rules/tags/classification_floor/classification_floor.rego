# METADATA
# title: DataClassification tag below the catalog
# description: "A data store whose DataClassification tag is lower than the catalog's classification of the data it holds (or not a known level), so tag-based controls protect it too little."
# custom:
#   id: tags.classification_floor
#   scope: resource
#   reads: [catalog]
#   severity: high
#   controls: [CC6.1, C1.1]
#   resource_types: [AWS::S3::Bucket, AWS::RDS::DBCluster, AWS::RDS::DBInstance, AWS::DynamoDB::Table]
#   hint: "Set the DataClassification tag to the catalog's classification (or higher); if the catalog is wrong, correct the asset's classification instead, through a steward."
#   seed: "004 Tagging Strategy: DataClassification; 001 classification levels"
#   absence_is_compliance: true
package custos.rules.tags.classification_floor

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some r in input.resources
	r.type in {"AWS::S3::Bucket", "AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::DynamoDB::Table"}
	tag := object.get(object.get(r, "tags", {}), "DataClassification", null)
	tag != null
	floor := lib.catalog_rank(r)
	lib.classification_rank(tag) < floor
	level := [name | some name, rank in lib.classification_ranks; rank == floor][0]
	msg := concat("", [r.type, " ", r.id, " is tagged DataClassification=", tag, " but holds ", level, " data"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
