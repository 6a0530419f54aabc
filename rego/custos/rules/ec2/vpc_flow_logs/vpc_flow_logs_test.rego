package custos.rules.ec2.vpc_flow_logs_test

import data.custos.rules.ec2.vpc_flow_logs as rule

# The input with every type of its resources listed where each was seen: completely (true) or not (false).
listed(inp, complete) := object.union(inp, {"coverage": {t: {a: {x.region: complete | some x in inp.resources; x.type == t; x.account == a} | some y in inp.resources; y.type == t; a := y.account} | some z in inp.resources; t := z.type}})

test_planted_violations_are_reported if {
	vs := rule.violations with input as listed({"now": 1767225600, "resources": [{"type": "AWS::EC2::VPC", "id": "vpc-1", "account": "111122223333", "region": "us-east-1", "configuration": {"is_default": true, "active_flow_logs": 0, "flow_logs": []}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
	{v.msg | some v in vs} == {"VPC vpc-1 has no active flow log"}
	every v in vs {
		v.id == "ec2.vpc_flow_logs"
		v.severity == "medium"
		v.controls == ["CC7.2"]
	}
}

test_clean_twins_pass if {
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::EC2::VPC", "id": "vpc-2", "account": "111122223333", "region": "us-east-1", "configuration": {"is_default": false, "active_flow_logs": 1, "flow_logs": [{"id": "fl-1", "status": "ACTIVE", "traffic_type": "ALL", "destination_type": "cloud-watch-logs"}]}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, true)
}

test_metadata_names_controls_hint_and_seed if {
	rule.metadata.id == "ec2.vpc_flow_logs"
	rule.metadata.controls == ["CC7.2"]
	rule.metadata.resource_types == ["AWS::EC2::VPC"]
	rule.metadata.hint == "Create a flow log for the VPC capturing ALL traffic (aws ec2 create-flow-logs --resource-type VPC --traffic-type ALL) to CloudWatch Logs or S3."
	rule.metadata.seed == "002 Phase 0 Logging and Monitoring: Enable VPC Flow Logs for all VPCs"
}

test_not_listed_completely_is_no_verdict if {
	# The same planted state, but the run did not list its types completely (or at all): no verdict.
	count(rule.violations) == 0 with input as {"now": 1767225600, "resources": [{"type": "AWS::EC2::VPC", "id": "vpc-1", "account": "111122223333", "region": "us-east-1", "configuration": {"is_default": true, "active_flow_logs": 0, "flow_logs": []}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}
	count(rule.violations) == 0 with input as listed({"now": 1767225600, "resources": [{"type": "AWS::EC2::VPC", "id": "vpc-1", "account": "111122223333", "region": "us-east-1", "configuration": {"is_default": true, "active_flow_logs": 0, "flow_logs": []}}], "findings": [], "lake_formation": {"permissions": []}, "catalog": {"assets": [], "approved_grants": []}}, false)
}
