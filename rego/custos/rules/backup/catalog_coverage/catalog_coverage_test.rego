package custos.rules.backup.catalog_coverage_test

import data.custos.rules.backup.catalog_coverage as rule

# The input with every type of its resources listed where each was seen: completely (true) or not (false).
listed(inp, complete) := object.union(inp, {"coverage": {t: {a: {x.region: complete | some x in inp.resources; x.type == t; x.account == a} | some y in inp.resources; y.type == t; a := y.account} | some z in inp.resources; t := z.type}})

test_planted_violations_are_reported if {
	vs := rule.violations with input as listed({"now": 1767225600, "resources": [{"type": "AWS::DynamoDB::Table", "id": "investment_transactions", "account": "111122223333", "region": "us-east-1", "configuration": {"point_in_time_recovery": true, "sse_type": "KMS", "kms_key_arn": "k"}, "arn": "arn:aws:dynamodb:us-east-1:111122223333:table/investment_transactions"}, {"type": "AWS::Backup::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"plans_read": true}}, {"type": "AWS::Backup::BackupPlan", "id": "p-unlocked", "account": "111122223333", "region": "us-east-1", "configuration": {"name": "p", "vaults": ["v"], "vaults_locked": false, "resources": ["arn:aws:dynamodb:us-east-1:111122223333:table/investment_transactions"]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [{"store": "dynamodb", "database": "wealth", "table": "investment_transactions", "classification": "confidential", "columns": []}, {"store": "aurora", "database": "wealth", "table": "clients", "classification": "restricted", "columns": []}], "approved_grants": []}}, true)
	{v.msg | some v in vs} == {"AWS::DynamoDB::Table investment_transactions holds catalogued data and no backup plan with a locked vault selects it"}
	every v in vs {
		v.id == "backup.catalog_coverage"
		v.severity == "high"
		v.controls == ["A1.2"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::RDS::DBCluster", "id": "wealth-prod", "account": "111122223333", "region": "us-east-1", "configuration": {"engine": "aurora-postgresql", "database_name": "wealth"}, "arn": "arn:aws:rds:us-east-1:111122223333:cluster:wealth-prod"}, {"type": "AWS::Backup::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"plans_read": true}}, {"type": "AWS::Backup::BackupPlan", "id": "p-locked", "account": "111122223333", "region": "us-east-1", "configuration": {"name": "p", "vaults": ["v"], "vaults_locked": true, "resources": ["arn:aws:rds:us-east-1:111122223333:cluster:*"]}}, {"type": "AWS::DynamoDB::Table", "id": "scratch", "account": "111122223333", "region": "us-east-1", "configuration": {"point_in_time_recovery": true, "sse_type": "KMS", "kms_key_arn": "k"}}, {"type": "AWS::DynamoDB::Table", "id": "investment_transactions", "account": "111122223333", "region": "eu-west-1", "configuration": {"point_in_time_recovery": true, "sse_type": "KMS", "kms_key_arn": "k"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [{"store": "dynamodb", "database": "wealth", "table": "investment_transactions", "classification": "confidential", "columns": []}, {"store": "aurora", "database": "wealth", "table": "clients", "classification": "restricted", "columns": []}], "approved_grants": []}}, true)
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "backup.catalog_coverage"
	rule.metadata.controls == ["A1.2"]
	rule.metadata.resource_types == ["AWS::RDS::DBCluster", "AWS::DynamoDB::Table"]
	rule.metadata.hint == "Add the resource to an AWS Backup plan (a selection by ARN or tag) whose rules write to a vault with Vault Lock (aws backup put-backup-vault-lock-configuration)."
	rule.metadata.seed == "002 Phase 0 Backup and Disaster Recovery: Configure AWS Backup policies; Phase 7 AWS Backup plans for DynamoDB"
}

test_not_listed_completely_is_no_verdict if {
	# The same planted state, but the run did not list its types completely (or at all): no verdict.
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::DynamoDB::Table", "id": "investment_transactions", "account": "111122223333", "region": "us-east-1", "configuration": {"point_in_time_recovery": true, "sse_type": "KMS", "kms_key_arn": "k"}, "arn": "arn:aws:dynamodb:us-east-1:111122223333:table/investment_transactions"}, {"type": "AWS::Backup::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"plans_read": true}}, {"type": "AWS::Backup::BackupPlan", "id": "p-unlocked", "account": "111122223333", "region": "us-east-1", "configuration": {"name": "p", "vaults": ["v"], "vaults_locked": false, "resources": ["arn:aws:dynamodb:us-east-1:111122223333:table/investment_transactions"]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [{"store": "dynamodb", "database": "wealth", "table": "investment_transactions", "classification": "confidential", "columns": []}, {"store": "aurora", "database": "wealth", "table": "clients", "classification": "restricted", "columns": []}], "approved_grants": []}}
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::DynamoDB::Table", "id": "investment_transactions", "account": "111122223333", "region": "us-east-1", "configuration": {"point_in_time_recovery": true, "sse_type": "KMS", "kms_key_arn": "k"}, "arn": "arn:aws:dynamodb:us-east-1:111122223333:table/investment_transactions"}, {"type": "AWS::Backup::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"plans_read": true}}, {"type": "AWS::Backup::BackupPlan", "id": "p-unlocked", "account": "111122223333", "region": "us-east-1", "configuration": {"name": "p", "vaults": ["v"], "vaults_locked": false, "resources": ["arn:aws:dynamodb:us-east-1:111122223333:table/investment_transactions"]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [{"store": "dynamodb", "database": "wealth", "table": "investment_transactions", "classification": "confidential", "columns": []}, {"store": "aurora", "database": "wealth", "table": "clients", "classification": "restricted", "columns": []}], "approved_grants": []}}, false)
}

test_no_plan_listed_completely_is_a_violation_and_plans_not_listed_is_none if {
	table := {"type": "AWS::DynamoDB::Table", "id": "investment_transactions", "account": "111122223333", "region": "us-east-1", "configuration": {}, "arn": "arn:aws:dynamodb:us-east-1:111122223333:table/investment_transactions"}
	catalog := {"assets": [{"store": "dynamodb", "database": "wealth", "table": "investment_transactions", "classification": "confidential", "columns": []}], "approved_grants": []}
	tables := {"AWS::DynamoDB::Table": {"111122223333": {"us-east-1": true}}}

	# Plans listed completely in the table's region, and none: the table is not backed up.
	plans_listed := object.union(tables, {"AWS::Backup::BackupPlan": {"111122223333": {"us-east-1": true}}})
	{v.msg | some v in rule.violations} == {"AWS::DynamoDB::Table investment_transactions holds catalogued data and no backup plan with a locked vault selects it"} with input as {"resources": [table], "catalog": catalog, "coverage": plans_listed}

	# Plans listed in another region only, or incompletely here: no verdict on the table.
	elsewhere := object.union(tables, {"AWS::Backup::BackupPlan": {"111122223333": {"eu-west-1": true}}})
	count(rule.violations) == 0 with input as {"resources": [table], "catalog": catalog, "coverage": elsewhere}
	incomplete := object.union(tables, {"AWS::Backup::BackupPlan": {"111122223333": {"us-east-1": false}}})
	count(rule.violations) == 0 with input as {"resources": [table], "catalog": catalog, "coverage": incomplete}
}
