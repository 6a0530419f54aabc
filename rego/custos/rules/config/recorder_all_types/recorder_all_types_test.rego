package custos.rules.config.recorder_all_types_test

import data.custos.rules.config.recorder_all_types as rule

# The input with every type of its resources listed where each was seen: completely (true) or not (false).
listed(inp, complete) := object.union(inp, {"coverage": {t: {a: {x.region: complete | some x in inp.resources; x.type == t; x.account == a} | some y in inp.resources; y.type == t; a := y.account} | some z in inp.resources; t := z.type}})

test_planted_violations_are_reported if {
	vs := rule.violations with input as listed({"now": 1767225600, "resources": [{"type": "AWS::Config::ConfigurationRecorder", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"recorder_present": true, "all_supported": false, "include_global_resource_types": true, "recording": true, "delivery_channel_present": true, "last_delivery_status": "SUCCESS"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
	{v.msg | some v in vs} == {"AWS Config recorder in account 111122223333 region us-east-1: not all supported types"}
	every v in vs {
		v.id == "config.recorder_all_types"
		v.severity == "high"
		v.controls == ["CC7.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::Config::ConfigurationRecorder", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"recorder_present": true, "all_supported": true, "include_global_resource_types": true, "recording": true, "delivery_channel_present": false, "last_delivery_status": null}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "config.recorder_all_types"
	rule.metadata.controls == ["CC7.1"]
	rule.metadata.resource_types == ["AWS::Config::ConfigurationRecorder"]
	rule.metadata.hint == "aws configservice put-configuration-recorder with recordingGroup allSupported=true, includeGlobalResourceTypes=true (global types in one region), then start-configuration-recorder."
	rule.metadata.seed == "002 Phase 0 Security Baseline: Enable AWS Config with required configuration rules"
}

test_not_listed_completely_is_no_verdict if {
	# The same planted state, but the run did not list its types completely (or at all): no verdict.
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::Config::ConfigurationRecorder", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"recorder_present": true, "all_supported": false, "include_global_resource_types": true, "recording": true, "delivery_channel_present": true, "last_delivery_status": "SUCCESS"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::Config::ConfigurationRecorder", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"recorder_present": true, "all_supported": false, "include_global_resource_types": true, "recording": true, "delivery_channel_present": true, "last_delivery_status": "SUCCESS"}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, false)
}
