# METADATA
# title: Database does not force SSL
# description: "An RDS/Aurora cluster, or a DB instance outside a cluster, whose parameter group does not set rds.force_ssl (PostgreSQL) or require_secure_transport (MySQL)."
# custom:
#   id: rds.force_ssl
#   scope: resource
#   reads: []
#   severity: high
#   controls: [CC6.7]
#   resource_types: [AWS::RDS::DBCluster, AWS::RDS::DBInstance]
#   hint: "Set rds.force_ssl = 1 (or require_secure_transport = ON) in a custom (cluster) parameter group attached to the database, then reboot if the parameter is static."
#   seed: "002 Phase 0 (encryption in transit); AWS Config rds-instance / aurora SSL checks"
#   absence_is_compliance: true
package custos.rules.rds.force_ssl

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

# Only databases collected with the parameter check (force_ssl present) are judged; Aurora
# instances take it from their cluster.
violations contains v if {
	some type in ["AWS::RDS::DBCluster", "AWS::RDS::DBInstance"]
	some r in lib.resources(type)
	lib.has(r.configuration, "force_ssl")
	object.get(r.configuration, "cluster", null) == null
	not r.configuration.force_ssl == true
	msg := concat("", ["database ", r.id, " does not force SSL connections"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
