package custos.rules.catalog.pii_retention_test

import data.custos.rules.catalog.pii_retention

column(name, classification, pii_type) := {"name": name, "classification": classification, "pii_type": pii_type, "masking_rule": null}

clients_columns := [
	column("client_id", "internal", null),
	column("first_name", "confidential", "name"),
	column("last_name", "confidential", "name"),
	column("date_of_birth", "restricted", "dob"),
	column("ssn", "restricted", "ssn"),
	column("marital_status", "confidential", null),
]

asset(table, retention_policy, columns) := {
	"store": "aurora", "database": "wealth", "table": table, "classification": "restricted", "domain": "Client",
	"location": null, "retention_policy": retention_policy, "retention_days": null, "columns": columns,
}

evaluate(assets) := vs if {
	vs := pii_retention.violations with input as {"catalog": {"assets": assets, "approved_grants": []}}
}

test_pii_asset_without_retention_is_a_violation if {
	vs := evaluate([asset("clients", null, clients_columns)])
	count(vs) == 1
	some v in vs
	v.id == "catalog.pii_retention"
	v.severity == "medium"
	v.controls == ["C1.2"]
	v.resource == {"type": "Custos::Catalog::Asset", "id": "aurora/wealth/clients", "account": "", "region": ""}
	v.msg == "asset aurora/wealth/clients has PII columns (first_name, last_name, date_of_birth, ssn) but no retention policy"
	v.rule.remediation == "none"
}

test_a_missing_retention_policy_field_counts_as_none if {
	tax := object.remove(asset("client_tax_information", null, [column("tax_id", "restricted", "tax_id")]), ["retention_policy"])
	vs := evaluate([tax])
	{v.msg | some v in vs} == {"asset aurora/wealth/client_tax_information has PII columns (tax_id) but no retention policy"}
}

test_assets_with_retention_or_without_pii_pass if {
	assets := [
		asset("clients", "client-data", clients_columns),
		asset("securities", null, [column("ticker", "public", null), {"name": "isin", "classification": "public"}]),
		asset("staging", null, []),
	]
	count(evaluate(assets)) == 0
}

test_metadata_comes_from_the_annotations if {
	pii_retention.metadata == {
		"id": "catalog.pii_retention",
		"title": "Asset with PII has no retention policy",
		"description": "A catalogued asset with at least one PII column (a column with a pii_type) but no retention\npolicy, so nothing says how long its personal data may be kept (seed 001 §5.3).\n",
		"severity": "medium",
		"controls": ["C1.2"],
		"resource_types": ["Custos::Catalog::Asset"],
		"remediation": "none",
		"scope": "catalog",
		"package": "custos.rules.catalog.pii_retention",
	}
}
