# METADATA
# title: Compliance entry points
# description: |
#   custos/compliance/violations: every violation of every rule over the normalised state in input.
#   custos/compliance/rules: the metadata of every rule in the bundle.
#   Each rule lives in package custos.rules.<service>.<rule> and defines `violations` and `metadata`.
package custos.compliance

violations contains v if {
	some v in data.custos.rules[_][_].violations
}

rules contains m if {
	m := data.custos.rules[_][_].metadata
}
