# METADATA
# title: RDS storage is not encrypted
# description: |
#   An RDS DB cluster or DB instance whose storage is not encrypted at rest (or whose encryption is not
#   reported).
# custom:
#   id: rds.storage_encrypted
#   scope: resource
#   reads: []
#   severity: high
#   controls: [CC6.1, C1.1]
#   resource_types: [AWS::RDS::DBCluster, AWS::RDS::DBInstance]
package custos.rules.rds.storage_encrypted

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

kinds := {"AWS::RDS::DBCluster": "DB cluster", "AWS::RDS::DBInstance": "DB instance"}

violations contains v if {
	some type, kind in kinds
	some db in lib.resources(type)
	not db.configuration.storage_encrypted == true
	v := lib.violation(rego.metadata.chain(), db, sprintf("%s %s is not encrypted at rest", [kind, db.id]))
}
