package custos.rules.rds.storage_encrypted_test

import data.custos.rules.rds.storage_encrypted

db(type, id, encrypted) := {
	"type": type,
	"id": id,
	"account": "111122223333",
	"region": "us-east-1",
	"configuration": {"engine": "aurora-postgresql", "storage_encrypted": encrypted, "backup_retention_period": 7},
}

test_unencrypted_cluster_is_a_violation if {
	vs := storage_encrypted.violations with input as {"resources": [db("AWS::RDS::DBCluster", "portfolio-aurora", false)]}
	count(vs) == 1
	some v in vs
	v.id == "rds.storage_encrypted"
	v.severity == "high"
	v.controls == ["CC6.1", "C1.1"]
	v.resource == {"type": "AWS::RDS::DBCluster", "id": "portfolio-aurora", "account": "111122223333", "region": "us-east-1"}
	v.msg == "DB cluster portfolio-aurora is not encrypted at rest"
	v.rule.remediation == "none"
}

test_unencrypted_instance_is_a_violation if {
	vs := storage_encrypted.violations with input as {"resources": [db("AWS::RDS::DBInstance", "crm-mysql", false)]}
	count(vs) == 1
	some v in vs
	v.id == "rds.storage_encrypted"
	v.resource == {"type": "AWS::RDS::DBInstance", "id": "crm-mysql", "account": "111122223333", "region": "us-east-1"}
	v.msg == "DB instance crm-mysql is not encrypted at rest"
}

test_unreported_encryption_fails_closed if {
	unreported := {"type": "AWS::RDS::DBInstance", "id": "crm-mysql", "account": "111122223333", "region": "us-east-1", "configuration": {"engine": "mysql", "backup_retention_period": 7}}
	vs := storage_encrypted.violations with input as {"resources": [unreported]}
	{v.msg | some v in vs} == {"DB instance crm-mysql is not encrypted at rest"}
}

test_encrypted_databases_and_other_types_pass if {
	resources := [
		db("AWS::RDS::DBCluster", "portfolio-aurora", true),
		db("AWS::RDS::DBInstance", "crm-mysql", true),
		db("AWS::EC2::Volume", "vol-1", false),
	]
	count(storage_encrypted.violations) == 0 with input as {"resources": resources}
}

test_metadata_comes_from_the_annotations if {
	storage_encrypted.metadata == {
		"id": "rds.storage_encrypted",
		"title": "RDS storage is not encrypted",
		"description": "An RDS DB cluster or DB instance whose storage is not encrypted at rest (or whose encryption is not\nreported).\n",
		"severity": "high",
		"controls": ["CC6.1", "C1.1"],
		"resource_types": ["AWS::RDS::DBCluster", "AWS::RDS::DBInstance"],
		"remediation": "none",
		"scope": "resource",
		"reads": [],
		"package": "custos.rules.rds.storage_encrypted",
	}
}
