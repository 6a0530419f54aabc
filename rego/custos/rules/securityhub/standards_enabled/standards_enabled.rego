# METADATA
# title: Security Hub standards missing
# description: "A region where Security Hub does not have both the CIS AWS Foundations Benchmark and AWS Foundational Security Best Practices standards enabled (or Security Hub is off)."
# custom:
#   id: securityhub.standards_enabled
#   scope: resource
#   reads: [coverage]
#   severity: high
#   controls: [CC7.1]
#   resource_types: [AWS::SecurityHub::Hub]
#   listing_scope: region
#   hint: "aws securityhub batch-enable-standards with the CIS AWS Foundations Benchmark and AWS Foundational Security Best Practices standard ARNs (enable Security Hub first if it is off)."
#   seed: "002 Phase 0 Security Baseline: Enable AWS Security Hub with CIS AWS Foundations Benchmark"
package custos.rules.securityhub.standards_enabled

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

required := {"cis-aws-foundations-benchmark": "CIS AWS Foundations Benchmark", "aws-foundational-security-best-practices": "AWS Foundational Security Best Practices"}

violations contains v if {
	some r in lib.resources("AWS::SecurityHub::Hub")
	lib.listed_here(r)
	missing := sort([name | some marker, name in required; not enabled(r, marker)])
	count(missing) > 0
	msg := concat("", ["Security Hub in account ", r.account, " region ", r.region, " lacks ", concat(" and ", missing)])
	v := lib.violation(rego.metadata.chain(), r, msg)
}

enabled(r, marker) if {
	some arn in r.configuration.standards
	contains(arn, marker)
}
