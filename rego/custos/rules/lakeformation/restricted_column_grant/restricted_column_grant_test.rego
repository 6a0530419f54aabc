package custos.rules.lakeformation.restricted_column_grant_test

import data.custos.lib
import data.custos.rules.lakeformation.restricted_column_grant

now := 1750000000

analytics := "arn:aws:iam::111122223333:role/analytics"

advisors := "arn:aws:iam::111122223333:role/advisors"

column(name, classification, pii_type, masking_rule) := {"name": name, "classification": classification, "pii_type": pii_type, "masking_rule": masking_rule}

# The demo wealth catalog (src/demo/wealth-catalog.ts): clients.ssn, clients.date_of_birth and
# client_tax_information.tax_id are restricted.
clients := {
	"store": "aurora", "database": "wealth", "table": "clients", "classification": "restricted", "domain": "Client",
	"location": null, "retention_policy": "client-data", "retention_days": 2557,
	"columns": [
		column("client_id", "internal", null, null),
		column("first_name", "confidential", "name", null),
		column("last_name", "confidential", "name", null),
		column("date_of_birth", "restricted", "dob", "redact"),
		column("ssn", "restricted", "ssn", "ssn_last4"),
		column("marital_status", "confidential", null, null),
	],
}

client_tax_information := {
	"store": "aurora", "database": "wealth", "table": "client_tax_information", "classification": "restricted", "domain": "Client",
	"location": null, "retention_policy": "client-data", "retention_days": 2557,
	"columns": [
		column("tax_info_id", "internal", null, null),
		column("client_id", "internal", null, null),
		column("tax_status", "confidential", null, null),
		column("tax_id", "restricted", "tax_id", "redact"),
	],
}

risk_profiles := {
	"store": "aurora", "database": "wealth", "table": "risk_profiles", "classification": "confidential", "domain": "Client",
	"location": null, "retention_policy": "client-data", "retention_days": 2557,
	"columns": [column("profile_id", "internal", null, null), column("risk_tolerance", "confidential", null, null)],
}

assets := [clients, client_tax_information, risk_profiles]

permission(resource, permissions) := {
	"principal": analytics,
	"resource": resource,
	"permissions": permissions,
	"grantable": [],
	"account": "111122223333",
	"region": "us-east-1",
}

on_table(table) := {"kind": "table", "database": "wealth", "table": table}

on_columns(table, columns) := {"kind": "table_with_columns", "database": "wealth", "table": table, "columns": columns}

all_but(table, excluded) := {"kind": "table_with_columns", "database": "wealth", "table": table, "excluded_columns": excluded}

grant(principal, table, columns, expires_at) := {
	"principal": principal,
	"database": "wealth",
	"table": table,
	"columns": columns,
	"purpose": "KYC review",
	"expires_at": expires_at,
}

live := now + 86400

expired := now - 86400

# The violations that hold at now, as an evaluation reports them.
evaluate(permissions, grants) := {v | some v in every_violation(permissions, grants); lib.holds(v, now)}

# Every violation, those that begin later too (when the last grant covering the column ends).
every_violation(permissions, grants) := vs if {
	vs := restricted_column_grant.violations with input as {
		"now": now,
		"lake_formation": {"permissions": permissions},
		"catalog": {"assets": assets, "approved_grants": grants},
	}
}

ids(vs) := {v.resource.id | some v in vs}

messages(vs) := {v.msg | some v in vs}

test_select_on_a_table_without_grants_exposes_each_restricted_column if {
	vs := evaluate([permission(on_table("clients"), ["SELECT"])], [])
	count(vs) == 2
	some v in vs
	v.resource.id == "arn:aws:iam::111122223333:role/analytics:wealth.clients.ssn"
	v.id == "lakeformation.restricted_column_grant"
	v.severity == "critical"
	v.controls == ["CC6.1", "CC6.3", "C1.1"]
	v.resource == {
		"type": "AWS::LakeFormation::Permission",
		"id": "arn:aws:iam::111122223333:role/analytics:wealth.clients.ssn",
		"account": "111122223333",
		"region": "us-east-1",
	}
	v.msg == "arn:aws:iam::111122223333:role/analytics can SELECT restricted column wealth.clients.ssn without an approved grant"
	v.rule.remediation == "lakeformation_revoke"
	ids(vs) == {
		"arn:aws:iam::111122223333:role/analytics:wealth.clients.ssn",
		"arn:aws:iam::111122223333:role/analytics:wealth.clients.date_of_birth",
	}
}

test_all_counts_as_select_and_an_expired_grant_is_named if {
	vs := evaluate([permission(on_columns("client_tax_information", ["client_id", "tax_id"]), ["ALL"])], [grant(analytics, "client_tax_information", ["tax_id"], expired)])
	messages(vs) == {"arn:aws:iam::111122223333:role/analytics can SELECT restricted column wealth.client_tax_information.tax_id without an expired grant"}
}

test_a_grant_expiring_now_has_expired if {
	vs := evaluate([permission(on_table("client_tax_information"), ["SELECT"])], [grant(analytics, "client_tax_information", [], now)])
	messages(vs) == {"arn:aws:iam::111122223333:role/analytics can SELECT restricted column wealth.client_tax_information.tax_id without an expired grant"}
}

test_a_live_whole_table_grant_covers_every_column if {
	count(evaluate([permission(on_table("clients"), ["SELECT"])], [grant(analytics, "clients", [], live)])) == 0
}

# Time-bound: the verdict does not read now. A covered column's violation begins when the last grant
# covering it ends (it holds from expires_at on), with the message it will have then.
test_a_live_grant_defers_the_violation_to_its_end if {
	vs := every_violation([permission(on_table("client_tax_information"), ["SELECT"])], [grant(analytics, "client_tax_information", [], live)])
	count(vs) == 1
	some v in vs
	v.violates_after == live - 1
	not lib.holds(v, now)
	not lib.holds(v, live - 1)
	lib.holds(v, live)
	v.msg == "arn:aws:iam::111122223333:role/analytics can SELECT restricted column wealth.client_tax_information.tax_id without an expired grant"
	v.id == "lakeformation.restricted_column_grant"
	v.severity == "critical"
	v.resource.id == "arn:aws:iam::111122223333:role/analytics:wealth.client_tax_information.tax_id"
}

test_the_last_grant_to_end_decides_when_the_violation_begins if {
	grants := [grant(analytics, "clients", [], live), grant(analytics, "clients", ["ssn"], live + 3600), grant(analytics, "clients", ["ssn"], expired)]
	vs := every_violation([permission(on_table("clients"), ["SELECT"])], grants)
	{[v.resource.id, v.violates_after] | some v in vs} == {
		["arn:aws:iam::111122223333:role/analytics:wealth.clients.ssn", (live + 3600) - 1],
		["arn:aws:iam::111122223333:role/analytics:wealth.clients.date_of_birth", live - 1],
	}
}

test_without_any_grant_the_violation_holds_whatever_the_time if {
	vs := every_violation([permission(on_table("client_tax_information"), ["SELECT"])], [grant(advisors, "client_tax_information", [], live)])
	count(vs) == 1
	some v in vs
	not v.violates_after
	lib.holds(v, 0)
}

test_live_column_grants_cover_only_their_columns if {
	grants := [grant(analytics, "clients", ["ssn", "first_name"], live)]
	count(evaluate([permission(on_columns("clients", ["client_id", "ssn"]), ["SELECT"])], grants)) == 0
	vs := evaluate([permission(on_table("clients"), ["SELECT"])], grants)
	ids(vs) == {"arn:aws:iam::111122223333:role/analytics:wealth.clients.date_of_birth"}
	messages(vs) == {"arn:aws:iam::111122223333:role/analytics can SELECT restricted column wealth.clients.date_of_birth without an approved grant"}
}

test_a_live_grant_wins_over_an_expired_one if {
	grants := [grant(analytics, "clients", [], expired), grant(analytics, "clients", ["ssn", "date_of_birth"], live)]
	count(evaluate([permission(on_table("clients"), ["SELECT"])], grants)) == 0
}

test_grants_of_other_principals_or_tables_do_not_count if {
	grants := [grant(advisors, "clients", [], live), grant(analytics, "client_tax_information", [], live)]
	vs := evaluate([permission(on_columns("clients", ["ssn"]), ["SELECT"])], grants)
	messages(vs) == {"arn:aws:iam::111122223333:role/analytics can SELECT restricted column wealth.clients.ssn without an approved grant"}
}

test_column_wildcard_exposes_all_but_the_excluded_columns if {
	vs := evaluate([permission(all_but("clients", ["ssn", "first_name"]), ["SELECT"])], [])
	ids(vs) == {"arn:aws:iam::111122223333:role/analytics:wealth.clients.date_of_birth"}
}

test_column_wildcard_excluding_every_restricted_column_passes if {
	count(evaluate([permission(all_but("clients", ["ssn", "date_of_birth"]), ["SELECT"])], [])) == 0
}

test_column_wildcard_without_exclusions_exposes_every_restricted_column if {
	vs := evaluate([permission(all_but("clients", []), ["SELECT"])], [])
	count(vs) == 2
}

test_column_permission_without_a_column_list_is_read_as_a_wildcard if {
	vs := evaluate([permission({"kind": "table_with_columns", "database": "wealth", "table": "client_tax_information"}, ["SELECT"])], [])
	ids(vs) == {"arn:aws:iam::111122223333:role/analytics:wealth.client_tax_information.tax_id"}
}

test_table_wildcard_reaches_every_catalogued_table_of_the_database if {
	vs := evaluate([permission(on_table("*"), ["SELECT"])], [grant(analytics, "clients", ["date_of_birth"], live)])
	ids(vs) == {
		"arn:aws:iam::111122223333:role/analytics:wealth.clients.ssn",
		"arn:aws:iam::111122223333:role/analytics:wealth.client_tax_information.tax_id",
	}
}

test_table_wildcard_on_an_uncatalogued_database_passes if {
	count(evaluate([permission({"kind": "table", "database": "marketing", "table": "*"}, ["SELECT"])], [])) == 0
}

test_non_read_permissions_and_kinds_pass if {
	permissions := [
		permission(on_table("clients"), ["DESCRIBE", "ALTER", "INSERT", "DELETE", "DROP"]),
		permission({"kind": "database", "database": "wealth"}, ["ALL", "CREATE_TABLE"]),
		permission({"kind": "data_location"}, ["DATA_LOCATION_ACCESS"]),
		permission({"kind": "catalog"}, ["CREATE_DATABASE"]),
	]
	count(evaluate(permissions, [])) == 0
}

test_non_restricted_columns_pass if {
	permissions := [
		permission(on_columns("clients", ["client_id", "first_name", "last_name", "marital_status"]), ["SELECT"]),
		permission(on_table("risk_profiles"), ["SELECT"]),
	]
	count(evaluate(permissions, [])) == 0
}

test_tables_unknown_to_the_catalog_pass if {
	permissions := [
		permission(on_table("clients_staging"), ["SELECT"]),
		permission({"kind": "table", "database": "lake", "table": "clients"}, ["SELECT"]),
	]
	count(evaluate(permissions, [])) == 0
}

test_a_table_catalogued_in_any_store_counts if {
	glue_copy := object.union(clients, {"store": "glue", "database": "lake", "columns": [column("ssn", "restricted", "ssn", "ssn_last4")]})
	vs := restricted_column_grant.violations with input as {
		"now": now,
		"lake_formation": {"permissions": [permission({"kind": "table", "database": "lake", "table": "clients"}, ["SELECT"])]},
		"catalog": {"assets": [glue_copy], "approved_grants": []},
	}
	ids(vs) == {"arn:aws:iam::111122223333:role/analytics:lake.clients.ssn"}
}

test_one_violation_per_principal_and_column_across_overlapping_permissions if {
	permissions := [
		permission(on_table("clients"), ["SELECT", "ALL"]),
		permission(on_columns("clients", ["ssn"]), ["SELECT"]),
		permission(all_but("clients", []), ["SELECT"]),
		object.union(permission(on_columns("clients", ["ssn"]), ["SELECT"]), {"principal": advisors}),
	]
	vs := evaluate(permissions, [])
	ids(vs) == {
		"arn:aws:iam::111122223333:role/analytics:wealth.clients.ssn",
		"arn:aws:iam::111122223333:role/analytics:wealth.clients.date_of_birth",
		"arn:aws:iam::111122223333:role/advisors:wealth.clients.ssn",
	}
	count(vs) == 3
}

test_metadata_comes_from_the_annotations if {
	restricted_column_grant.metadata == {
		"id": "lakeformation.restricted_column_grant",
		"title": "Lake Formation exposes a restricted column without an approved grant",
		"description": concat("", [
			"A Lake Formation SELECT (or ALL) permission on a catalogued table that reaches a column classified\n",
			"restricted, for a principal with no unexpired approved grant to that column (or to the whole table).\n",
			"A table permission, or a table wildcard \"*\" over the database, reaches every restricted column;\n",
			"a column permission reaches the columns it names, or with a column wildcard all but the excluded ones;\n",
			"an LF-tag policy permission (resource type TABLE) reaches every restricted column whose LF-tags\n",
			"(its own, else its table's, else its database's, per key, as collected) match its expression.\n",
			"Approved grants are Custos grants in status active or pending_apply; an LF-tag policy is also\n",
			"approved by an approved lf_tag grant of the same expression to the same principal.\n",
		]),
		"severity": "critical",
		"controls": ["CC6.1", "CC6.3", "C1.1"],
		"resource_types": ["AWS::LakeFormation::Permission"],
		"absence_is_compliance": true,
		"remediation": "lakeformation_revoke",
		"scope": "account",
		"item_types": ["AWS::LakeFormation::Permission"],
		"reads": ["catalog", "lf_tag_assignments"],
		"package": "custos.rules.lakeformation.restricted_column_grant",
	}
}

# LF-tag policies (issue 11): judged against the collected LF-tags of restricted columns.

tag(key, values) := {"key": key, "values": values}

on_tags(expression) := {"kind": "lf_tag_policy", "resource_type": "TABLE", "expression": expression}

# wealth.clients tagged classification=restricted on the table; its client_id column overrides it
# with public; the database is tagged domain=client.
clients_tags := {
	"account": "111122223333", "region": "us-east-1", "database": "wealth", "table": "clients",
	"lf_tags_on_database": [tag("domain", ["client"])],
	"lf_tags_on_table": [tag("classification", ["restricted"])],
	"lf_tags_on_columns": [{"column": "date_of_birth", "lf_tags": [tag("classification", ["internal"])]}],
}

evaluate_tags(permissions, grants, assignments) := {v | some v in every_violation_tags(permissions, grants, assignments); lib.holds(v, now)}

every_violation_tags(permissions, grants, assignments) := vs if {
	vs := restricted_column_grant.violations with input as {
		"now": now,
		"lake_formation": {"permissions": permissions, "lf_tag_assignments": assignments},
		"catalog": {"assets": assets, "approved_grants": grants},
	}
}

lf_grant(principal, expression, expires_at) := {
	"scope": "lf_tag", "principal": principal, "database": "", "table": "", "columns": [],
	"lf_tag_expression": expression, "purpose": "analytics", "expires_at": expires_at,
}

test_lf_tag_policy_reaches_the_restricted_columns_its_tags_match if {
	vs := evaluate_tags([permission(on_tags([tag("classification", ["restricted", "confidential"])]), ["SELECT"])], [], [clients_tags])

	# ssn inherits the table's tag; date_of_birth's own tag (internal) overrides it.
	{v.resource.id | some v in vs} == {"arn:aws:iam::111122223333:role/analytics:wealth.clients.ssn"}
	some v in vs
	contains(v.msg, "through an LF-tag policy without an approved grant")
}

test_lf_tag_policy_ands_keys_and_reads_database_tags if {
	count(evaluate_tags([permission(on_tags([tag("domain", ["client"]), tag("classification", ["restricted"])]), ["ALL"])], [], [clients_tags])) == 1
	count(evaluate_tags([permission(on_tags([tag("domain", ["advisory"]), tag("classification", ["restricted"])]), ["SELECT"])], [], [clients_tags])) == 0
	count(evaluate_tags([permission(on_tags([tag("classification", ["restricted"])]), ["DESCRIBE"])], [], [clients_tags])) == 0
}

test_lf_tag_policy_other_account_or_database_type_is_not_matched if {
	elsewhere := object.union(clients_tags, {"account": "999999999999"})
	count(evaluate_tags([permission(on_tags([tag("classification", ["restricted"])]), ["SELECT"])], [], [elsewhere])) == 0
	database_policy := {"kind": "lf_tag_policy", "resource_type": "DATABASE", "expression": [tag("classification", ["restricted"])]}
	count(evaluate_tags([permission(database_policy, ["SELECT"])], [], [clients_tags])) == 0
}

test_lf_tag_policy_judged_like_named_grants if {
	policy := permission(on_tags([tag("classification", ["restricted"])]), ["SELECT"])
	count(evaluate_tags([policy], [grant(analytics, "clients", ["ssn"], live)], [clients_tags])) == 0
	count(evaluate_tags([policy], [grant(analytics, "clients", [], live)], [clients_tags])) == 0
	expired_vs := evaluate_tags([policy], [grant(analytics, "clients", ["ssn"], expired)], [clients_tags])
	count(expired_vs) == 1
	some v in expired_vs
	contains(v.msg, "without an expired grant")

	# An approved lf_tag grant of the same expression (values in any order) approves the policy, until it ends.
	count(evaluate_tags([policy], [lf_grant(analytics, [tag("classification", ["restricted"])], live)], [clients_tags])) == 0
	later := every_violation_tags([policy], [lf_grant(analytics, [tag("classification", ["restricted"])], live)], [clients_tags])
	{v.violates_after | some v in later} == {live - 1}
	count(evaluate_tags([policy], [lf_grant(analytics, [tag("classification", ["restricted", "confidential"])], live)], [clients_tags])) == 1
	count(evaluate_tags([policy], [lf_grant(advisors, [tag("classification", ["restricted"])], live)], [clients_tags])) == 1
}

test_lf_tag_and_named_exposure_of_one_column_is_one_violation if {
	vs := evaluate_tags([permission(on_tags([tag("classification", ["restricted"])]), ["SELECT"]), permission(on_columns("clients", ["ssn"]), ["SELECT"])], [], [clients_tags])
	count(vs) == 1
	some v in vs
	not contains(v.msg, "LF-tag")
}
