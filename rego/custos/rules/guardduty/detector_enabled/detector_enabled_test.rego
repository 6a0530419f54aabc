package custos.rules.guardduty.detector_enabled_test

import data.custos.rules.guardduty.detector_enabled as rule

test_planted_violations_are_reported if {
	vs := rule.violations with input as {"now": 1767225600, "resources": [{"type": "AWS::GuardDuty::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"detector_enabled": false, "detectors": [{"id": "d1", "status": "DISABLED"}]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	{v.msg | some v in vs} == {"GuardDuty has no enabled detector in account 111122223333 region us-east-1"}
	every v in vs {
		v.id == "guardduty.detector_enabled"
		v.severity == "high"
		v.controls == ["CC7.2"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::GuardDuty::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"detector_enabled": true, "detectors": [{"id": "d1", "status": "ENABLED"}]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "guardduty.detector_enabled"
	rule.metadata.controls == ["CC7.2"]
	rule.metadata.resource_types == ["AWS::GuardDuty::RegionalSettings"]
	rule.metadata.hint == "Enable GuardDuty in every region (aws guardduty create-detector --enable), or from the organization's delegated administrator for all accounts."
	rule.metadata.seed == "002 Phase 0 Security Baseline: Enable AWS GuardDuty in all regions"
}
