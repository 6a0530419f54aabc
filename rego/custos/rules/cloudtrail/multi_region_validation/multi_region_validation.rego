# METADATA
# title: Account has no multi-region, validated, logging CloudTrail trail
# description: |
#   Every account that appears in the collected resources needs at least one CloudTrail trail of its
#   own that is multi-region, has log file validation enabled and is logging. An account with no trail
#   data fails (fail closed). The violation is about the account, not about a trail.
# custom:
#   id: cloudtrail.multi_region_validation
#   severity: high
#   controls: [CC7.2, CC7.3]
#   resource_types: [AWS::CloudTrail::Trail]
package custos.rules.cloudtrail.multi_region_validation

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

# What a trail needs, in the order a message names what it lacks.
requirements := [
	["is_multi_region_trail", "is not multi-region"],
	["log_file_validation_enabled", "does not validate log files"],
	["is_logging", "is not logging"],
]

accounts := {r.account | some r in input.resources}

account_trails(account) := [trail |
	some trail in lib.resources("AWS::CloudTrail::Trail")
	trail.account == account
]

shortfalls(trail) := [text |
	some [field, text] in requirements
	not trail.configuration[field] == true
]

compliant(trail) if count(shortfalls(trail)) == 0

account_resource(account) := {"type": "AWS::::Account", "id": account, "account": account, "region": ""}

violations contains v if {
	some account in accounts
	count(account_trails(account)) == 0
	v := lib.violation(rego.metadata.chain(), account_resource(account), sprintf("account %s has no CloudTrail trail", [account]))
}

violations contains v if {
	some account in accounts
	trails := account_trails(account)
	count(trails) > 0
	not any_compliant(trails)
	lacks := {sprintf("trail %s %s", [trail.id, concat(", ", shortfalls(trail))]) | some trail in trails}
	msg := sprintf("account %s has no CloudTrail trail that is multi-region, validates log files and is logging: %s", [account, concat("; ", sort(lacks))])
	v := lib.violation(rego.metadata.chain(), account_resource(account), msg)
}

any_compliant(trails) if {
	some trail in trails
	compliant(trail)
}
