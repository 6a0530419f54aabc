package custos.rules.config.delivery_channel_test

import data.custos.rules.config.delivery_channel as rule

# The input with every type of its resources listed where each was seen: completely (true) or not (false).
listed(inp, complete) := object.union(inp, {"coverage": {t: {a: {x.region: complete | some x in inp.resources; x.type == t; x.account == a} | some y in inp.resources; y.type == t; a := y.account} | some z in inp.resources; t := z.type}})

test_planted_violations_are_reported if {
	vs := rule.violations with input as listed({"now": 1767225600, "resources": [{"type": "AWS::Config::ConfigurationRecorder", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"recorder_present": true, "all_supported": true, "include_global_resource_types": true, "recording": true, "delivery_channel_present": true, "last_delivery_status": "Failure"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
	{v.msg | some v in vs} == {"AWS Config delivery channel in account 111122223333 region us-east-1 last delivery: Failure"}
	every v in vs {
		v.id == "config.delivery_channel"
		v.severity == "medium"
		v.controls == ["CC7.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::Config::ConfigurationRecorder", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"recorder_present": true, "all_supported": true, "include_global_resource_types": true, "recording": true, "delivery_channel_present": true, "last_delivery_status": "Success"}}, {"type": "AWS::Config::ConfigurationRecorder", "id": "111122223333:eu-west-1", "account": "111122223333", "region": "eu-west-1", "configuration": {"recorder_present": true, "all_supported": true, "include_global_resource_types": true, "recording": true, "delivery_channel_present": true, "last_delivery_status": "SUCCESS"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "config.delivery_channel"
	rule.metadata.controls == ["CC7.1"]
	rule.metadata.resource_types == ["AWS::Config::ConfigurationRecorder"]
	rule.metadata.hint == "aws configservice put-delivery-channel to an S3 bucket Config may write to; check the bucket policy and KMS key if deliveries fail."
	rule.metadata.seed == "002 Phase 0 Security Baseline: Enable AWS Config; 004 Config bucket"
}

test_not_listed_completely_is_no_verdict if {
	# The same planted state, but the run did not list its types completely (or at all): no verdict.
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::Config::ConfigurationRecorder", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"recorder_present": true, "all_supported": true, "include_global_resource_types": true, "recording": true, "delivery_channel_present": true, "last_delivery_status": "Failure"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::Config::ConfigurationRecorder", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"recorder_present": true, "all_supported": true, "include_global_resource_types": true, "recording": true, "delivery_channel_present": true, "last_delivery_status": "Failure"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, false)
}
