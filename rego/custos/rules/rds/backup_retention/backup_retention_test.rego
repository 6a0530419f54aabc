package custos.rules.rds.backup_retention_test

import data.custos.rules.rds.backup_retention

db(type, id, days) := {
	"type": type,
	"id": id,
	"account": "111122223333",
	"region": "us-east-1",
	"configuration": {"engine": "postgres", "storage_encrypted": true, "backup_retention_period": days},
}

test_short_retention_on_a_cluster_is_a_violation if {
	vs := backup_retention.violations with input as {"resources": [db("AWS::RDS::DBCluster", "portfolio-aurora", 1)]}
	count(vs) == 1
	some v in vs
	v.id == "rds.backup_retention"
	v.severity == "medium"
	v.controls == ["A1.2"]
	v.resource == {"type": "AWS::RDS::DBCluster", "id": "portfolio-aurora", "account": "111122223333", "region": "us-east-1"}
	v.msg == "DB cluster portfolio-aurora keeps automated backups for 1 day, less than the minimum of 7 days"
	v.rule.remediation == "none"
}

test_disabled_backups_on_an_instance_are_a_violation if {
	vs := backup_retention.violations with input as {"resources": [db("AWS::RDS::DBInstance", "crm-mysql", 0)]}
	count(vs) == 1
	some v in vs
	v.id == "rds.backup_retention"
	v.resource == {"type": "AWS::RDS::DBInstance", "id": "crm-mysql", "account": "111122223333", "region": "us-east-1"}
	v.msg == "DB instance crm-mysql keeps automated backups for 0 days, less than the minimum of 7 days"
}

test_six_days_is_one_short if {
	vs := backup_retention.violations with input as {"resources": [db("AWS::RDS::DBInstance", "crm-mysql", 6)]}
	{v.msg | some v in vs} == {"DB instance crm-mysql keeps automated backups for 6 days, less than the minimum of 7 days"}
}

test_unreported_retention_fails_closed if {
	missing := {"type": "AWS::RDS::DBInstance", "id": "crm-mysql", "account": "111122223333", "region": "us-east-1", "configuration": {"engine": "mysql", "storage_encrypted": true}}
	not_a_number := db("AWS::RDS::DBCluster", "portfolio-aurora", "35")
	vs := backup_retention.violations with input as {"resources": [missing, not_a_number]}
	{v.msg | some v in vs} == {
		"DB instance crm-mysql does not report a backup retention period (the minimum is 7 days)",
		"DB cluster portfolio-aurora does not report a backup retention period (the minimum is 7 days)",
	}
}

test_seven_days_or_more_and_other_types_pass if {
	resources := [
		db("AWS::RDS::DBCluster", "portfolio-aurora", 7),
		db("AWS::RDS::DBInstance", "crm-mysql", 35),
		db("AWS::EC2::Volume", "vol-1", 0),
	]
	count(backup_retention.violations) == 0 with input as {"resources": resources}
}

test_metadata_comes_from_the_annotations if {
	backup_retention.metadata == {
		"id": "rds.backup_retention",
		"title": "RDS backup retention is too short",
		"description": "An RDS DB cluster or DB instance that keeps automated backups for fewer than 7 days (0 means\nautomated backups are off), or whose retention period is not reported.\n",
		"severity": "medium",
		"controls": ["A1.2"],
		"resource_types": ["AWS::RDS::DBCluster", "AWS::RDS::DBInstance"],
		"remediation": "none",
		"scope": "resource",
		"reads": [],
		"package": "custos.rules.rds.backup_retention",
	}
}
