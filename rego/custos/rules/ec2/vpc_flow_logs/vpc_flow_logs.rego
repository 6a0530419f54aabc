# METADATA
# title: VPC without flow logs
# description: "A VPC with no active flow log."
# custom:
#   id: ec2.vpc_flow_logs
#   scope: resource
#   reads: [coverage]
#   severity: medium
#   controls: [CC7.2]
#   resource_types: [AWS::EC2::VPC]
#   hint: "Create a flow log for the VPC capturing ALL traffic (aws ec2 create-flow-logs --resource-type VPC --traffic-type ALL) to CloudWatch Logs or S3."
#   seed: "002 Phase 0 Logging and Monitoring: Enable VPC Flow Logs for all VPCs"
#   absence_is_compliance: true
package custos.rules.ec2.vpc_flow_logs

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some r in lib.resources("AWS::EC2::VPC")
	lib.listed_here(r)
	not r.configuration.active_flow_logs > 0
	msg := concat("", ["VPC ", r.id, " has no active flow log"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
