# METADATA
# title: RDS backup retention is too short
# description: |
#   An RDS DB cluster or DB instance that keeps automated backups for fewer than 7 days (0 means
#   automated backups are off), or whose retention period is not reported.
# custom:
#   id: rds.backup_retention
#   scope: resource
#   reads: []
#   severity: medium
#   controls: [A1.2]
#   resource_types: [AWS::RDS::DBCluster, AWS::RDS::DBInstance]
package custos.rules.rds.backup_retention

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

# backup_retention_period is in days (not seconds), so lib.days does not apply.
minimum_days := 7

kinds := {"AWS::RDS::DBCluster": "DB cluster", "AWS::RDS::DBInstance": "DB instance"}

retention_sufficient(config) if {
	is_number(config.backup_retention_period)
	config.backup_retention_period >= minimum_days
}

unit(days) := "day" if {
	days == 1
} else := "days"

message(kind, db) := msg if {
	days := db.configuration.backup_retention_period
	is_number(days)
	msg := sprintf("%s %s keeps automated backups for %v %s, less than the minimum of %d days", [kind, db.id, days, unit(days), minimum_days])
} else := sprintf("%s %s does not report a backup retention period (the minimum is %d days)", [kind, db.id, minimum_days])

violations contains v if {
	some type, kind in kinds
	some db in lib.resources(type)
	not retention_sufficient(db.configuration)
	v := lib.violation(rego.metadata.chain(), db, message(kind, db))
}
