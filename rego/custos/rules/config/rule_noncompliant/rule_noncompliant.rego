# METADATA
# title: AWS Config rule non-compliant
# description: "An AWS Config rule that AWS Config itself evaluates NON_COMPLIANT (its managed identifier, e.g. seed 004's ENCRYPTED_VOLUMES, named), so Config's verdicts sit beside Custos's."
# custom:
#   id: config.rule_noncompliant
#   scope: resource
#   reads: []
#   severity: medium
#   controls: [CC7.1]
#   resource_types: [AWS::Config::ConfigRule]
#   hint: "Open the rule in AWS Config, fix the non-compliant resources it lists (or remediate through Custos where a rule of its own covers them), then re-evaluate (aws configservice start-config-rules-evaluation)."
#   seed: "004 AWS Config Rules (ENCRYPTED_VOLUMES, RDS_STORAGE_ENCRYPTED, S3_BUCKET_PUBLIC_READ_PROHIBITED, S3_BUCKET_PUBLIC_WRITE_PROHIBITED, S3_BUCKET_LOGGING_ENABLED)"
#   absence_is_compliance: true
package custos.rules.config.rule_noncompliant

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some r in lib.resources("AWS::Config::ConfigRule")
	r.configuration.compliance == "NON_COMPLIANT"
	count_text := object.get({true: ""}, r.configuration.non_compliant_resources == null, concat("", [" (", format_int(object.get(r.configuration, "non_compliant_resources", 0), 10), " resources)"]))
	msg := concat("", ["AWS Config rule ", r.id, " (", identifier(r), ") is NON_COMPLIANT", count_text])
	v := lib.violation(rego.metadata.chain(), r, msg)
}

identifier(r) := i if {
	i := r.configuration.identifier
	i != null
} else := "custom"
