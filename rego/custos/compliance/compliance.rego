# METADATA
# title: Compliance entry points
# description: |
#   custos/compliance/violations: every violation of every rule over the normalised state in input.
#   custos/compliance/rules: the metadata of every rule in the bundle.
#   custos/compliance/<scope>_violations: the violations of the rules of one scope (custom.scope:
#   resource, account, catalog, global), so that the service can evaluate an estate in parts
#   (src/evaluation/partition.ts): rules of scope resource over any split of the items, account over
#   whole accounts, catalog over the catalog alone, global over everything at once.
#   Each rule lives in package custos.rules.<service>.<rule> and defines `violations` and `metadata`.
package custos.compliance

violations contains v if {
	some v in data.custos.rules[_][_].violations
}

rules contains m if {
	m := data.custos.rules[_][_].metadata
}

resource_violations contains v if some v in scoped("resource")

account_violations contains v if some v in scoped("account")

catalog_violations contains v if some v in scoped("catalog")

global_violations contains v if some v in scoped("global")

# The scope is read first, so the violations of the other rules are never evaluated.
scoped(scope) := {v |
	some service, rule
	data.custos.rules[service][rule].metadata.scope == scope
	some v in data.custos.rules[service][rule].violations
}
