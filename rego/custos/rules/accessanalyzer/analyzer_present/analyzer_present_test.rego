package custos.rules.accessanalyzer.analyzer_present_test

import data.custos.rules.accessanalyzer.analyzer_present as rule

# The input with every type of its resources listed where each was seen: completely (true) or not (false).
listed(inp, complete) := object.union(inp, {"coverage": {t: {a: {x.region: complete | some x in inp.resources; x.type == t; x.account == a} | some y in inp.resources; y.type == t; a := y.account} | some z in inp.resources; t := z.type}})

test_planted_violations_are_reported if {
	vs := rule.violations with input as listed({"now": 1767225600, "resources": [{"type": "AWS::AccessAnalyzer::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"active_analyzers": 0, "analyzers": []}}, {"type": "AWS::AccessAnalyzer::RegionalSettings", "id": "111122223333:eu-west-1", "account": "111122223333", "region": "eu-west-1", "configuration": {"active_analyzers": 0, "analyzers": []}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
	{v.msg | some v in vs} == {"account 111122223333 has no active IAM Access Analyzer analyzer in the regions collected (eu-west-1, us-east-1)"}
	every v in vs {
		v.id == "accessanalyzer.analyzer_present"
		v.severity == "medium"
		v.controls == ["CC6.1"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::AccessAnalyzer::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"active_analyzers": 0, "analyzers": []}}, {"type": "AWS::AccessAnalyzer::RegionalSettings", "id": "111122223333:eu-west-1", "account": "111122223333", "region": "eu-west-1", "configuration": {"active_analyzers": 1, "analyzers": [{"name": "a", "type": "ACCOUNT", "status": "ACTIVE"}]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "accessanalyzer.analyzer_present"
	rule.metadata.controls == ["CC6.1"]
	rule.metadata.resource_types == ["AWS::AccessAnalyzer::RegionalSettings"]
	rule.metadata.hint == "Create an analyzer (aws accessanalyzer create-analyzer --type ACCOUNT, or ORGANIZATION from the delegated administrator) in every region used."
	rule.metadata.seed == "002 Phase 0 Security Baseline: Enable IAM Access Analyzer"
}

test_not_listed_completely_is_no_verdict if {
	# The same planted state, but the run did not list its types completely (or at all): no verdict.
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::AccessAnalyzer::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"active_analyzers": 0, "analyzers": []}}, {"type": "AWS::AccessAnalyzer::RegionalSettings", "id": "111122223333:eu-west-1", "account": "111122223333", "region": "eu-west-1", "configuration": {"active_analyzers": 0, "analyzers": []}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::AccessAnalyzer::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"active_analyzers": 0, "analyzers": []}}, {"type": "AWS::AccessAnalyzer::RegionalSettings", "id": "111122223333:eu-west-1", "account": "111122223333", "region": "eu-west-1", "configuration": {"active_analyzers": 0, "analyzers": []}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, false)
}

test_a_covered_region_without_an_analyzer_listing_is_no_verdict if {
	settings := {"type": "AWS::AccessAnalyzer::RegionalSettings", "id": "111122223333:us-east-1", "account": "111122223333", "region": "us-east-1", "configuration": {"active_analyzers": 0, "analyzers": []}}

	# The run also covered eu-west-1 (buckets), where analyzers were not listed: one may be active there.
	coverage := {
		"AWS::AccessAnalyzer::RegionalSettings": {"111122223333": {"us-east-1": true}},
		"AWS::S3::Bucket": {"111122223333": {"us-east-1": true, "eu-west-1": true}},
	}
	count(rule.violations) == 0 with input as {"resources": [settings], "coverage": coverage}
	everywhere := object.union(coverage, {"AWS::AccessAnalyzer::RegionalSettings": {"111122223333": {"us-east-1": true, "eu-west-1": true}}})
	{v.msg | some v in rule.violations} == {"account 111122223333 has no active IAM Access Analyzer analyzer in the regions collected (us-east-1)"} with input as {"resources": [settings], "coverage": everywhere}
}
