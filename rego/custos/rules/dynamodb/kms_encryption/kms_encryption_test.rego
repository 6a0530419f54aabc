package custos.rules.dynamodb.kms_encryption_test

import data.custos.rules.dynamodb.kms_encryption as rule

test_planted_violations_are_reported if {
	vs := rule.violations with input as {"now": 1767225600, "resources": [{"type": "AWS::DynamoDB::Table", "id": "t1", "account": "111122223333", "region": "us-east-1", "configuration": {"point_in_time_recovery": true, "sse_type": "DEFAULT", "kms_key_arn": null}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	{v.msg | some v in vs} == {"DynamoDB table t1 is not encrypted with a KMS key (DEFAULT)"}
	every v in vs {
		v.id == "dynamodb.kms_encryption"
		v.severity == "medium"
		v.controls == ["CC6.1", "C1.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::DynamoDB::Table", "id": "t2", "account": "111122223333", "region": "us-east-1", "configuration": {"point_in_time_recovery": false, "sse_type": "KMS", "kms_key_arn": "k"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "dynamodb.kms_encryption"
	rule.metadata.controls == ["CC6.1", "C1.1"]
	rule.metadata.resource_types == ["AWS::DynamoDB::Table"]
	rule.metadata.hint == "aws dynamodb update-table --sse-specification Enabled=true,SSEType=KMS,KMSMasterKeyId=<customer managed key>."
	rule.metadata.seed == "002 Phase 0 Encryption and Key Management: customer-managed KMS keys; 004 data encrypted using customer-managed KMS keys"
}
