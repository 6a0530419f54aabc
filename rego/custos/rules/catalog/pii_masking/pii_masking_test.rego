package custos.rules.catalog.pii_masking_test

import data.custos.rules.catalog.pii_masking

column(name, classification, pii_type, masking_rule) := {"name": name, "classification": classification, "pii_type": pii_type, "masking_rule": masking_rule}

asset(store, database, table, columns) := {
	"store": store, "database": database, "table": table, "classification": "restricted", "domain": "Client",
	"location": null, "retention_policy": "client-data", "retention_days": 2557, "columns": columns,
}

# wealth.clients as the demo catalog has it, but for the masking of ssn.
clients(ssn_masking) := asset("aurora", "wealth", "clients", [
	column("client_id", "internal", null, null),
	column("first_name", "confidential", "name", "redact"),
	column("date_of_birth", "restricted", "dob", "redact"),
	column("ssn", "restricted", "ssn", ssn_masking),
	column("marital_status", "confidential", null, null),
])

evaluate(assets) := vs if {
	vs := pii_masking.violations with input as {"catalog": {"assets": assets, "approved_grants": []}}
}

test_pii_column_without_masking_is_a_violation if {
	vs := evaluate([clients(null)])
	count(vs) == 1
	some v in vs
	v.id == "catalog.pii_masking"
	v.severity == "high"
	v.controls == ["C1.1", "CC6.1"]
	v.resource == {"type": "Custos::Catalog::Column", "id": "aurora/wealth/clients.ssn", "account": "", "region": ""}
	v.msg == "column ssn of aurora/wealth/clients holds PII (ssn) but has no masking rule"
	v.rule.remediation == "none"
}

test_each_unmasked_column_of_each_asset_is_reported if {
	tax := asset("aurora", "wealth", "client_tax_information", [column("tax_id", "restricted", "tax_id", null), column("tax_status", "confidential", null, null)])
	contacts := asset("dynamodb", "wealth", "contact_information", [column("email", "confidential", "email", null), column("phone", "confidential", "phone", "phone_last4")])
	vs := evaluate([clients(null), tax, contacts])
	{v.resource.id | some v in vs} == {"aurora/wealth/clients.ssn", "aurora/wealth/client_tax_information.tax_id", "dynamodb/wealth/contact_information.email"}
}

test_a_column_without_a_masking_rule_field_counts_as_unmasked if {
	vs := evaluate([asset("s3", "wealth-client-documents", "client-documents/", [{"name": "content", "classification": "restricted", "pii_type": "ssn"}])])
	{v.msg | some v in vs} == {"column content of s3/wealth-client-documents/client-documents/ holds PII (ssn) but has no masking rule"}
}

test_masked_pii_and_non_pii_columns_pass if {
	no_pii_field := asset("aurora", "wealth", "securities", [{"name": "ticker", "classification": "public", "masking_rule": null}])
	count(evaluate([clients("ssn_last4"), no_pii_field, asset("aurora", "wealth", "empty", [])])) == 0
}

test_metadata_comes_from_the_annotations if {
	pii_masking.metadata == {
		"id": "catalog.pii_masking",
		"title": "PII column without a masking rule",
		"description": "A catalogued column that holds PII (it has a pii_type) but has no masking rule, so readers\nwithout a grant would see its values in clear (seed 001 §5.2).\n",
		"severity": "high",
		"controls": ["C1.1", "CC6.1"],
		"resource_types": ["Custos::Catalog::Column"],
		"remediation": "none",
		"scope": "catalog",
		"package": "custos.rules.catalog.pii_masking",
	}
}
