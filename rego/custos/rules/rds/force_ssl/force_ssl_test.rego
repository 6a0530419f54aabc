package custos.rules.rds.force_ssl_test

import data.custos.rules.rds.force_ssl as rule

test_planted_violations_are_reported if {
	vs := rule.violations with input as {"now": 1767225600, "resources": [{"type": "AWS::RDS::DBCluster", "id": "wealth", "account": "111122223333", "region": "us-east-1", "configuration": {"engine": "aurora-postgresql", "force_ssl": null}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	{v.msg | some v in vs} == {"database wealth does not force SSL connections"}
	every v in vs {
		v.id == "rds.force_ssl"
		v.severity == "high"
		v.controls == ["CC6.7"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::RDS::DBCluster", "id": "ok", "account": "111122223333", "region": "us-east-1", "configuration": {"engine": "aurora-postgresql", "force_ssl": true}}, {"type": "AWS::RDS::DBInstance", "id": "wealth-1", "account": "111122223333", "region": "us-east-1", "configuration": {"engine": "aurora-postgresql", "force_ssl": null, "cluster": "wealth"}}, {"type": "AWS::RDS::DBInstance", "id": "old", "account": "111122223333", "region": "us-east-1", "configuration": {"engine": "postgres"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "rds.force_ssl"
	rule.metadata.controls == ["CC6.7"]
	rule.metadata.resource_types == ["AWS::RDS::DBCluster", "AWS::RDS::DBInstance"]
	rule.metadata.hint == "Set rds.force_ssl = 1 (or require_secure_transport = ON) in a custom (cluster) parameter group attached to the database, then reboot if the parameter is static."
	rule.metadata.seed == "002 Phase 0 (encryption in transit); AWS Config rds-instance / aurora SSL checks"
}
