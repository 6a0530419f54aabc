# METADATA
# title: Account has no multi-region, validated, logging CloudTrail trail
# description: |
#   Every account the run covered needs at least one CloudTrail trail of its own that is
#   multi-region, has log file validation enabled and is logging. Judged only for accounts whose
#   trails were listed completely in every region of the account the run covered (a trail is
#   reported from its home region, so an unlisted region may hold it): elsewhere the rule says
#   nothing and is not tested. The violation is about the account, not about a trail.
# custom:
#   id: cloudtrail.multi_region_validation
#   scope: account
#   item_types: [AWS::CloudTrail::Trail]
#   reads: [coverage]
#   severity: high
#   controls: [CC7.2, CC7.3]
#   resource_types: [AWS::CloudTrail::Trail]
#   listing_scope: account_regions
package custos.rules.cloudtrail.multi_region_validation

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

# What a trail needs, in the order a message names what it lacks.
requirements := [
	["is_multi_region_trail", "is not multi-region"],
	["log_file_validation_enabled", "does not validate log files"],
	["is_logging", "is not logging"],
]

trail_type := "AWS::CloudTrail::Trail"

# The accounts judged: covered by the run, with their trails listed completely in every region covered.
accounts := {account |
	some account in lib.covered_accounts
	lib.listed_in_every_region(trail_type, account)
}

listed_regions(account) := concat(", ", sort(lib.covered_regions(account)))

account_trails(account) := [trail |
	some trail in lib.resources(trail_type)
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
	v := lib.violation(rego.metadata.chain(), account_resource(account), sprintf("account %s has no CloudTrail trail (trails listed completely in %s)", [account, listed_regions(account)]))
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
