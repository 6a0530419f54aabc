# METADATA
# title: Asset with PII has no retention policy
# description: |
#   A catalogued asset with at least one PII column (a column with a pii_type) but no retention
#   policy, so nothing says how long its personal data may be kept (seed 001 §5.3).
# custom:
#   id: catalog.pii_retention
#   scope: catalog
#   severity: medium
#   controls: [C1.2]
#   resource_types: [Custos::Catalog::Asset]
#   remediation: none
package custos.rules.catalog.pii_retention

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some asset in input.catalog.assets
	object.get(asset, "retention_policy", null) == null
	pii := [column.name | some column in asset.columns; object.get(column, "pii_type", null) != null]
	count(pii) > 0
	name := sprintf("%s/%s/%s", [asset.store, asset.database, asset.table])
	msg := sprintf("asset %s has PII columns (%s) but no retention policy", [name, concat(", ", pii)])
	v := lib.violation(rego.metadata.chain(), {"type": "Custos::Catalog::Asset", "id": name}, msg)
}
