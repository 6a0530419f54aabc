package custos.rules.config.delivery_channel_test

import data.custos.rules.config.delivery_channel as rule

test_planted_violations_are_reported if {
	vs := rule.violations with input as {"now": 1767225600, "resources": [{"type": "AWS::Config::ConfigurationRecorder", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"recorder_present": true, "all_supported": true, "include_global_resource_types": true, "recording": true, "delivery_channel_present": true, "last_delivery_status": "Failure"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	{v.msg | some v in vs} == {"AWS Config delivery channel in account 111122223333 region us-east-1 last delivery: Failure"}
	every v in vs {
		v.id == "config.delivery_channel"
		v.severity == "medium"
		v.controls == ["CC7.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::Config::ConfigurationRecorder", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"recorder_present": true, "all_supported": true, "include_global_resource_types": true, "recording": true, "delivery_channel_present": true, "last_delivery_status": "Success"}}, {"type": "AWS::Config::ConfigurationRecorder", "id": "111122223333:eu-west-1", "account": "111122223333", "region": "eu-west-1", "configuration": {"recorder_present": true, "all_supported": true, "include_global_resource_types": true, "recording": true, "delivery_channel_present": true, "last_delivery_status": "SUCCESS"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "config.delivery_channel"
	rule.metadata.controls == ["CC7.1"]
	rule.metadata.resource_types == ["AWS::Config::ConfigurationRecorder"]
	rule.metadata.hint == "aws configservice put-delivery-channel to an S3 bucket Config may write to; check the bucket policy and KMS key if deliveries fail."
	rule.metadata.seed == "002 Phase 0 Security Baseline: Enable AWS Config; 004 Config bucket"
}
