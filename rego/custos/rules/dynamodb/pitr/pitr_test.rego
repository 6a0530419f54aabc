package custos.rules.dynamodb.pitr_test

import data.custos.rules.dynamodb.pitr as rule

test_planted_violations_are_reported if {
	vs := rule.violations with input as {"now": 1767225600, "resources": [{"type": "AWS::DynamoDB::Table", "id": "t1", "account": "111122223333", "region": "us-east-1", "configuration": {"point_in_time_recovery": false, "sse_type": "KMS", "kms_key_arn": "k"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	{v.msg | some v in vs} == {"DynamoDB table t1 has no point-in-time recovery"}
	every v in vs {
		v.id == "dynamodb.pitr"
		v.severity == "medium"
		v.controls == ["A1.2"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::DynamoDB::Table", "id": "t2", "account": "111122223333", "region": "us-east-1", "configuration": {"point_in_time_recovery": true, "sse_type": "DEFAULT", "kms_key_arn": null}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "dynamodb.pitr"
	rule.metadata.controls == ["A1.2"]
	rule.metadata.resource_types == ["AWS::DynamoDB::Table"]
	rule.metadata.hint == "aws dynamodb update-continuous-backups --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true."
	rule.metadata.seed == "002 Phase 0 Backup and Disaster Recovery: Enable DynamoDB point-in-time recovery; 004 DynamoDB PITR"
}
