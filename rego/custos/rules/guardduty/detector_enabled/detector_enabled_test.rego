package custos.rules.guardduty.detector_enabled_test

import data.custos.rules.guardduty.detector_enabled as rule

# The input with every type of its resources listed where each was seen: completely (true) or not (false).
listed(inp, complete) := object.union(inp, {"coverage": {t: {a: {x.region: complete | some x in inp.resources; x.type == t; x.account == a} | some y in inp.resources; y.type == t; a := y.account} | some z in inp.resources; t := z.type}})

test_planted_violations_are_reported if {
	vs := rule.violations with input as listed({"now": 1767225600, "resources": [{"type": "AWS::GuardDuty::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"detector_enabled": false, "detectors": [{"id": "d1", "status": "DISABLED"}]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
	{v.msg | some v in vs} == {"GuardDuty has no enabled detector in account 111122223333 region us-east-1"}
	every v in vs {
		v.id == "guardduty.detector_enabled"
		v.severity == "high"
		v.controls == ["CC7.2"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::GuardDuty::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"detector_enabled": true, "detectors": [{"id": "d1", "status": "ENABLED"}]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "guardduty.detector_enabled"
	rule.metadata.controls == ["CC7.2"]
	rule.metadata.resource_types == ["AWS::GuardDuty::RegionalSettings"]
	rule.metadata.hint == "Enable GuardDuty in every region (aws guardduty create-detector --enable), or from the organization's delegated administrator for all accounts."
	rule.metadata.seed == "002 Phase 0 Security Baseline: Enable AWS GuardDuty in all regions"
}

test_not_listed_completely_is_no_verdict if {
	# The same planted state, but the run did not list its types completely (or at all): no verdict.
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::GuardDuty::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"detector_enabled": false, "detectors": [{"id": "d1", "status": "DISABLED"}]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::GuardDuty::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"detector_enabled": false, "detectors": [{"id": "d1", "status": "DISABLED"}]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, false)
}
