package custos.rules.tags.classification_floor_test

import data.custos.rules.tags.classification_floor as rule

test_planted_violations_are_reported if {
	vs := rule.violations with input as {"now": 1767225600, "resources": [{"type": "AWS::S3::Bucket", "id": "docs", "account": "111122223333", "region": "us-east-1", "configuration": {}, "tags": {"DataClassification": "Internal"}}, {"type": "AWS::DynamoDB::Table", "id": "tx", "account": "111122223333", "region": "us-east-1", "configuration": {}, "tags": {"DataClassification": "secret-ish"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [{"store": "s3", "database": "docs", "table": "d/", "classification": "restricted", "columns": []}, {"store": "s3", "database": "docs2", "table": "d/", "classification": "restricted", "columns": []}, {"store": "s3", "database": "site", "table": "p/", "classification": "public", "columns": []}, {"store": "dynamodb", "database": "wealth", "table": "tx", "classification": "confidential", "columns": []}, {"store": "aurora", "database": "wealth", "table": "clients", "classification": "restricted", "columns": []}], "approved_grants": []}}
	{v.msg | some v in vs} == {"AWS::DynamoDB::Table tx is tagged DataClassification=secret-ish but holds confidential data", "AWS::S3::Bucket docs is tagged DataClassification=Internal but holds restricted data"}
	every v in vs {
		v.id == "tags.classification_floor"
		v.severity == "high"
		v.controls == ["CC6.1", "C1.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::S3::Bucket", "id": "site", "account": "111122223333", "region": "us-east-1", "configuration": {}, "tags": {"DataClassification": "Public"}}, {"type": "AWS::S3::Bucket", "id": "docs2", "account": "111122223333", "region": "us-east-1", "configuration": {}, "tags": {"DataClassification": "Restricted"}}, {"type": "AWS::RDS::DBCluster", "id": "c", "account": "111122223333", "region": "us-east-1", "configuration": {"database_name": "wealth"}, "tags": {"DataClassification": "Restricted"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [{"store": "s3", "database": "docs", "table": "d/", "classification": "restricted", "columns": []}, {"store": "s3", "database": "docs2", "table": "d/", "classification": "restricted", "columns": []}, {"store": "s3", "database": "site", "table": "p/", "classification": "public", "columns": []}, {"store": "dynamodb", "database": "wealth", "table": "tx", "classification": "confidential", "columns": []}, {"store": "aurora", "database": "wealth", "table": "clients", "classification": "restricted", "columns": []}], "approved_grants": []}}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "tags.classification_floor"
	rule.metadata.controls == ["CC6.1", "C1.1"]
	rule.metadata.resource_types == ["AWS::S3::Bucket", "AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::DynamoDB::Table"]
	rule.metadata.hint == "Set the DataClassification tag to the catalog's classification (or higher); if the catalog is wrong, correct the asset's classification instead, through a steward."
	rule.metadata.seed == "004 Tagging Strategy: DataClassification; 001 classification levels"
}
