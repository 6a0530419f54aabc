# METADATA
# title: Custos policy library
# description: Helpers every rule uses to read the normalised state and to shape violations.
package custos.lib

# The rule's own METADATA (its package annotations), as rule metadata for the API.
# `chain` is rego.metadata.chain() called from the rule. `auto_remediate: true` (remediation may run
# without approval when its action is low risk) is added only to the rules that say so, and so is
# `absence_is_compliance: true` (no resource of the rule's types is compliance, provided the type was
# listed completely: "no public bucket" holds over zero buckets only if S3 was fully listed).
metadata(chain) := object.union(object.union(base_metadata(chain), auto_remediation(chain)), absence(chain))

absence(chain) := {"absence_is_compliance": true} if {
	some entry in chain
	entry.annotations.scope == "package"
	entry.annotations.custom.absence_is_compliance == true
} else := {}

auto_remediation(chain) := {"auto_remediate": true} if {
	some entry in chain
	entry.annotations.scope == "package"
	entry.annotations.custom.auto_remediate == true
} else := {}

base_metadata(chain) := {
	"id": a.custom.id,
	"title": a.title,
	"description": object.get(a, "description", ""),
	"severity": a.custom.severity,
	"controls": a.custom.controls,
	"resource_types": a.custom.resource_types,
	"remediation": object.get(a.custom, "remediation", "none"),
	"package": concat(".", entry.path),
} if {
	some entry in chain
	entry.annotations.scope == "package"
	a := entry.annotations
}

# One explained violation: which rule, how severe, which controls, why, about what.
violation(chain, resource, msg) := {
	"id": m.id,
	"severity": m.severity,
	"controls": m.controls,
	"msg": msg,
	"resource": {
		"type": resource.type,
		"id": resource.id,
		"account": object.get(resource, "account", ""),
		"region": object.get(resource, "region", ""),
	},
	"rule": m,
} if {
	m := metadata(chain)
}

# The collected resources of one AWS type.
resources(type) := [r | some r in input.resources; r.type == type]

days(n) := n * 86400
