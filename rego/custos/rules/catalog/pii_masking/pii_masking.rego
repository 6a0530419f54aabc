# METADATA
# title: PII column without a masking rule
# description: |
#   A catalogued column that holds PII (it has a pii_type) but has no masking rule, so readers
#   without a grant would see its values in clear (seed 001 §5.2).
# custom:
#   id: catalog.pii_masking
#   scope: catalog
#   severity: high
#   controls: [C1.1, CC6.1]
#   resource_types: [Custos::Catalog::Column]
#   remediation: none
package custos.rules.catalog.pii_masking

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some asset in input.catalog.assets
	some column in asset.columns
	object.get(column, "pii_type", null) != null
	object.get(column, "masking_rule", null) == null
	resource := {"type": "Custos::Catalog::Column", "id": sprintf("%s/%s/%s.%s", [asset.store, asset.database, asset.table, column.name])}
	msg := sprintf("column %s of %s/%s/%s holds PII (%s) but has no masking rule", [column.name, asset.store, asset.database, asset.table, column.pii_type])
	v := lib.violation(rego.metadata.chain(), resource, msg)
}
