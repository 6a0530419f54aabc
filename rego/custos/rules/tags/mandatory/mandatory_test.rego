package custos.rules.tags.mandatory_test

import data.custos.rules.tags.mandatory as rule

test_planted_violations_are_reported if {
	vs := rule.violations with input as {"now": 1767225600, "resources": [{"type": "AWS::DynamoDB::Table", "id": "t1", "account": "111122223333", "region": "us-east-1", "configuration": {}, "tags": {"Environment": "prod", "CostCenter": "x"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	{v.msg | some v in vs} == {"AWS::DynamoDB::Table t1 lacks the mandatory tags Compliance, DataClassification"}
	every v in vs {
		v.id == "tags.mandatory"
		v.severity == "low"
		v.controls == ["CC6.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::S3::Bucket", "id": "b", "account": "111122223333", "region": "us-east-1", "configuration": {}, "tags": {"Environment": "prod", "CostCenter": "trading-platform", "Compliance": "SOC2", "DataClassification": "Restricted"}}, {"type": "AWS::EC2::Volume", "id": "vol-1", "account": "111122223333", "region": "us-east-1", "configuration": {}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "tags.mandatory"
	rule.metadata.controls == ["CC6.1"]
	rule.metadata.resource_types == ["AWS::S3::Bucket", "AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::DynamoDB::Table", "AWS::SecretsManager::Secret"]
	rule.metadata.hint == "Tag the resource with Environment, CostCenter, Compliance and DataClassification (an SCP or tag policy can require them at creation)."
	rule.metadata.seed == "004 Tagging Strategy (Environment, CostCenter, Compliance, DataClassification)"
}
