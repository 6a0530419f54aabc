package custos.access_test

import data.custos.access

# ---------------------------------------------------------------------------------------------
# Fixture: data.custos.runtime built from the demo catalog (src/demo/wealth-catalog.ts) and the
# reference data (migrations/004_reference_data.ts), plus one fixture-only table, kyc_checks.

now := 1795000000

day := 86400

analytics := "arn:aws:iam::111122223333:role/analytics-etl"

onboarding := "arn:aws:iam::111122223333:role/client-onboarding"

analyst := "arn:aws:iam::111122223333:user/kyc.analyst"

col(classification, pii_type, masking_rule) := {"classification": classification, "pii_type": pii_type, "masking_rule": masking_rule}

public := col("public", null, null)

internal := col("internal", null, null)

confidential := col("confidential", null, null)

catalog := {
	"aurora/wealth/securities_master": {"classification": "public", "domain": "Investment", "columns": {
		"security_id": public,
		"ticker_symbol": public,
		"security_name": public,
		"security_type": public,
	}},
	"aurora/wealth/price_history": {"classification": "public", "domain": "Investment", "columns": {
		"price_history_id": public,
		"security_id": public,
		"price_date": public,
		"price": public,
	}},
	"aurora/wealth/clients": {"classification": "restricted", "domain": "Client", "columns": {
		"client_id": internal,
		"first_name": col("confidential", "name", null),
		"last_name": col("confidential", "name", null),
		"date_of_birth": col("restricted", "dob", "redact"),
		"ssn": col("restricted", "ssn", "ssn_last4"),
		"marital_status": confidential,
		"created_at": internal,
		"updated_at": internal,
	}},
	"aurora/wealth/client_tax_information": {"classification": "restricted", "domain": "Client", "columns": {
		"tax_info_id": internal,
		"client_id": internal,
		"tax_status": confidential,
		"tax_id": col("restricted", "tax_id", "redact"),
	}},
	"aurora/wealth/contact_information": {"classification": "confidential", "domain": "Client", "columns": {
		"contact_id": internal,
		"client_id": internal,
		"address": col("confidential", "address", "redact"),
		"city": col("confidential", "address", null),
		"state": col("confidential", "address", null),
		"zip_code": col("confidential", "address", null),
		"phone_number": col("confidential", "phone", "phone_last4"),
		"email": col("confidential", "email", "email_domain"),
		"preferred_contact_method": confidential,
	}},
	# Fixture only: a restricted column without a masking rule, one whose rule is missing, an
	# unranked classification and one ranked between confidential and restricted.
	"aurora/wealth/kyc_checks": {"classification": "restricted", "domain": "Client", "columns": {
		"check_id": internal,
		"passport_number": col("restricted", "passport", null),
		"watchlist_hit": col("restricted", null, "no_such_rule"),
		"analyst_notes": col("secret", null, null),
		"risk_score": col("sensitive", null, null),
	}},
	"aurora/wealth/empty_table": {"classification": "internal", "domain": "Client", "columns": {}},
}

masking_rules := {
	"ssn_last4": {"strategy": "show_last", "params": {"visible": 4}},
	"card_last4": {"strategy": "show_last", "params": {"visible": 4}},
	"email_domain": {"strategy": "email_domain", "params": {}},
	"phone_last4": {"strategy": "show_last", "params": {"visible": 4}},
	"redact": {"strategy": "redact", "params": {"replacement": "[REDACTED]"}},
}

runtime(grants) := {
	"principals": {
		analytics: {"name": "analytics-etl", "kind": "pipeline", "team": "analytics", "domain": null},
		onboarding: {"name": "client-onboarding", "kind": "pipeline", "team": "client-services", "domain": "Client"},
		analyst: {"name": "kyc.analyst", "kind": "user", "team": "compliance", "domain": null},
	},
	"tables": catalog,
	"masking_rules": masking_rules,
	"classification_ranks": {"public": 0, "internal": 10, "confidential": 20, "sensitive": 25, "restricted": 30},
	"grants": grants,
}

request(principal, action, table, columns) := {
	"principal": principal,
	"action": action,
	"resource": {"store": "aurora", "database": "wealth", "table": table, "columns": columns},
	"purpose": "kyc-review",
	"now": now,
	"context": {"request_id": "r-1"},
}

table_grant(id, table, columns, permissions, purpose, expires_at) := {
	"id": id, "scope": "table", "domain": null, "store": "aurora", "database": "wealth", "table": table,
	"columns": columns, "permissions": permissions, "purpose": purpose, "expires_at": expires_at,
}

domain_grant(id, domain, permissions) := {
	"id": id, "scope": "domain", "domain": domain, "store": null, "database": null, "table": null,
	"columns": [], "permissions": permissions, "purpose": "reporting", "expires_at": now + (30 * day),
}

in_30_days := now + (30 * day)

# Tests apply `with` themselves rather than through a helper function: a function using `with`
# makes `opa build -t wasm ... rego` fail ("function ... used as reference, not called").

codes(d) := [[object.get(r, "column", ""), r.code] | some r in d.reasons]

denied(d, expected) if {
	d.decision == "deny"
	codes(d) == expected
	d.obligations == {"mask": {}}
	d.grants == []
}

ssn_mask := {"rule": "ssn_last4", "strategy": "show_last", "params": {"visible": 4}}

dob_mask := {"rule": "redact", "strategy": "redact", "params": {"replacement": "[REDACTED]"}}

# ---------------------------------------------------------------------------------------------
# Public columns

test_public_columns_are_readable_by_any_registered_principal if {
	d := access.decision with input as request(analytics, "select", "securities_master", ["ticker_symbol", "security_id"]) with data.custos.runtime as runtime({})
	d == {
		"decision": "allow",
		"reasons": [
			{"code": "public", "column": "security_id", "message": "column security_id is public"},
			{"code": "public", "column": "ticker_symbol", "message": "column ticker_symbol is public"},
		],
		"obligations": {"mask": {}},
		"grants": [],
	}
}

test_public_columns_can_be_described if {
	d := access.decision with input as request(analyst, "describe", "price_history", ["price"]) with data.custos.runtime as runtime({})
	d.decision == "allow"
	codes(d) == [["price", "public"]]
}

test_no_columns_means_every_column_of_the_table if {
	every columns in [[], null] {
		d := access.decision with input as request(analytics, "select", "price_history", columns) with data.custos.runtime as runtime({})
		d.decision == "allow"
		codes(d) == [["price", "public"], ["price_date", "public"], ["price_history_id", "public"], ["security_id", "public"]]
	}
	req := json.remove(request(analytics, "select", "price_history", []), ["resource/columns"])
	no_key := access.decision with input as req with data.custos.runtime as runtime({})
	codes(no_key) == [["price", "public"], ["price_date", "public"], ["price_history_id", "public"], ["security_id", "public"]]
}

test_repeated_columns_are_judged_once if {
	d := access.decision with input as request(analytics, "select", "price_history", ["price", "price"]) with data.custos.runtime as runtime({})
	codes(d) == [["price", "public"]]
}

# ---------------------------------------------------------------------------------------------
# Unknown principal, table, column and action

test_unknown_principal_is_denied_without_describing_the_catalog if {
	d := access.decision with input as request("arn:aws:iam::111122223333:role/stranger", "select", "no_such_table", ["x"]) with data.custos.runtime as runtime({})
	denied(d, [["", "unknown_principal"]])
	d.reasons[0].message == "principal arn:aws:iam::111122223333:role/stranger is not registered"
}

test_unknown_table_is_denied if {
	d := access.decision with input as request(analytics, "select", "no_such_table", []) with data.custos.runtime as runtime({})
	denied(d, [["", "unknown_table"]])
	d.reasons[0].message == "table aurora/wealth/no_such_table is not in the catalog"
}

test_unknown_columns_are_named if {
	d := access.decision with input as request(analytics, "select", "securities_master", ["security_id", "price", "isin"]) with data.custos.runtime as runtime({})
	denied(d, [["isin", "unknown_column"], ["price", "unknown_column"]])
	d.reasons[0] == {"code": "unknown_column", "column": "isin", "message": "column isin is not in table aurora/wealth/securities_master"}
}

test_unknown_action_is_denied if {
	every action in ["update", "SELECT", ""] {
		d := access.decision with input as request(analytics, action, "securities_master", ["security_id"]) with data.custos.runtime as runtime({})
		denied(d, [["", "invalid_action"]])
	}
	d := access.decision with input as request(analytics, "update", "no_such_table", []) with data.custos.runtime as runtime({})
	denied(d, [["", "invalid_action"], ["", "unknown_table"]])
	d.reasons[0].message == "action update is not one of select, insert, delete, describe"
}

test_table_without_columns_is_denied if {
	d := access.decision with input as request(onboarding, "select", "empty_table", []) with data.custos.runtime as runtime({})
	denied(d, [["", "no_columns"]])
	d.reasons[0].message == "table aurora/wealth/empty_table has no catalogued columns"
}

test_missing_runtime_data_denies if {
	d := access.decision with input as request(analytics, "select", "securities_master", [])
	denied(d, [["", "unknown_principal"]])
}

# ---------------------------------------------------------------------------------------------
# Internal columns

test_internal_column_is_readable_by_a_domain_member if {
	d := access.decision with input as request(onboarding, "select", "clients", ["client_id"]) with data.custos.runtime as runtime({})
	d.decision == "allow"
	d.reasons == [{"code": "domain_member", "column": "client_id", "message": "column client_id is internal and the principal belongs to domain Client"}]
	d.grants == []
}

test_internal_column_is_denied_to_others_without_a_grant if {
	d := access.decision with input as request(analytics, "select", "clients", ["client_id"]) with data.custos.runtime as runtime({})
	denied(d, [["client_id", "no_grant"]])
	d.reasons[0].message == "column client_id is internal: select needs membership of domain Client or an unexpired SELECT grant covering table aurora/wealth/clients or domain Client"
}

test_internal_column_is_readable_with_a_table_or_domain_grant if {
	by_table := {analytics: [table_grant("g-table", "clients", [], ["SELECT"], "reporting", in_30_days)]}
	d := access.decision with input as request(analytics, "select", "clients", ["client_id"]) with data.custos.runtime as runtime(by_table)
	d.decision == "allow"
	d.reasons == [{"code": "grant", "column": "client_id", "message": "column client_id is internal and an unexpired SELECT grant covers it"}]
	d.grants == ["g-table"]

	by_domain := {analytics: [domain_grant("g-domain", "Client", ["SELECT"])]}
	e := access.decision with input as request(analytics, "select", "clients", ["client_id"]) with data.custos.runtime as runtime(by_domain)
	e.decision == "allow"
	e.grants == ["g-domain"]
}

test_table_without_a_domain_offers_only_table_grants if {
	req := request(analytics, "select", "clients", ["client_id"])
	d := access.decision with input as req with data.custos.runtime as runtime({}) with data.custos.runtime.tables["aurora/wealth/clients"].domain as null
	denied(d, [["client_id", "no_grant"]])
	d.reasons[0].message == "column client_id is internal: select needs an unexpired SELECT grant covering table aurora/wealth/clients"
}

# ---------------------------------------------------------------------------------------------
# Confidential columns

test_confidential_column_needs_a_grant_even_for_domain_members if {
	d := access.decision with input as request(onboarding, "select", "clients", ["first_name"]) with data.custos.runtime as runtime({})
	denied(d, [["first_name", "no_grant"]])
	d.reasons[0].message == "column first_name is confidential: select needs an unexpired SELECT grant covering table aurora/wealth/clients or domain Client"
}

test_confidential_column_with_a_whole_table_grant if {
	grants := {analytics: [table_grant("g-1", "clients", [], ["SELECT"], "reporting", in_30_days)]}
	d := access.decision with input as request(analytics, "select", "clients", ["first_name", "marital_status"]) with data.custos.runtime as runtime(grants)
	d.decision == "allow"
	codes(d) == [["first_name", "grant"], ["marital_status", "grant"]]
	d.grants == ["g-1"]
	d.obligations == {"mask": {}}
}

test_confidential_column_grant_limited_to_named_columns if {
	grants := {analytics: [table_grant("g-1", "clients", ["marital_status"], ["SELECT"], "reporting", in_30_days)]}
	allowed := access.decision with input as request(analytics, "select", "clients", ["marital_status"]) with data.custos.runtime as runtime(grants)
	allowed.decision == "allow"
	allowed.grants == ["g-1"]
	unnamed := access.decision with input as request(analytics, "select", "clients", ["first_name", "marital_status"]) with data.custos.runtime as runtime(grants)
	denied(unnamed, [["first_name", "no_grant"]])
}

test_confidential_column_with_a_domain_grant if {
	d := access.decision with input as request(analytics, "select", "clients", ["first_name"]) with data.custos.runtime as runtime({analytics: [domain_grant("g-dom", "Client", ["SELECT"])]})
	d.decision == "allow"
	d.grants == ["g-dom"]
	other_domain := {analytics: [domain_grant("g-inv", "Investment", ["SELECT"])]}
	other := access.decision with input as request(analytics, "select", "clients", ["first_name"]) with data.custos.runtime as runtime(other_domain)
	denied(other, [["first_name", "no_grant"]])
}

test_grant_for_another_table_or_database_does_not_cover if {
	other_table := table_grant("g-1", "contact_information", [], ["SELECT"], "reporting", in_30_days)
	other_database := object.union(table_grant("g-2", "clients", [], ["SELECT"], "reporting", in_30_days), {"database": "archive"})
	other_store := object.union(table_grant("g-3", "clients", [], ["SELECT"], "reporting", in_30_days), {"store": "snowflake"})
	d := access.decision with input as request(analytics, "select", "clients", ["first_name"]) with data.custos.runtime as runtime({analytics: [other_table, other_database, other_store]})
	denied(d, [["first_name", "no_grant"]])
}

test_confidential_column_with_a_masking_rule_is_not_masked if {
	ungranted := access.decision with input as request(analytics, "select", "contact_information", ["email"]) with data.custos.runtime as runtime({})
	denied(ungranted, [["email", "no_grant"]])
	grants := {analytics: [table_grant("g-1", "contact_information", ["email"], ["SELECT"], "marketing", in_30_days)]}
	d := access.decision with input as request(analytics, "select", "contact_information", ["email"]) with data.custos.runtime as runtime(grants)
	d.decision == "allow"
	d.obligations == {"mask": {}}
}

test_grant_purpose_only_binds_restricted_columns if {
	grants := {analytics: [table_grant("g-1", "clients", ["first_name"], ["SELECT"], "marketing", in_30_days)]}
	d := access.decision with input as request(analytics, "select", "clients", ["first_name"]) with data.custos.runtime as runtime(grants)
	d.decision == "allow"
	d.grants == ["g-1"]
}

# ---------------------------------------------------------------------------------------------
# Restricted columns

test_restricted_column_with_an_explicit_grant_for_the_purpose_is_unmasked if {
	grants := {analyst: [table_grant("g-ssn", "clients", ["ssn"], ["SELECT"], "kyc-review", in_30_days)]}
	d := access.decision with input as request(analyst, "select", "clients", ["ssn"]) with data.custos.runtime as runtime(grants)
	d == {
		"decision": "allow",
		"reasons": [{"code": "grant", "column": "ssn", "message": "column ssn is restricted and an unexpired SELECT grant names it for purpose kyc-review"}],
		"obligations": {"mask": {}},
		"grants": ["g-ssn"],
	}
}

test_restricted_column_with_a_grant_for_another_purpose_is_masked if {
	grants := {analyst: [table_grant("g-ssn", "clients", ["ssn"], ["SELECT"], "marketing", in_30_days)]}
	d := access.decision with input as request(analyst, "select", "clients", ["ssn"]) with data.custos.runtime as runtime(grants)
	d == {
		"decision": "allow",
		"reasons": [{"code": "masked", "column": "ssn", "message": "column ssn is restricted and no unexpired SELECT grant names it for purpose kyc-review; a grant covers it: masked by rule ssn_last4"}],
		"obligations": {"mask": {"ssn": ssn_mask}},
		"grants": ["g-ssn"],
	}
}

test_restricted_column_with_an_expired_grant_is_masked_only_under_another_grant if {
	every expires_at in [now, now - day] {
		expired := table_grant("g-ssn", "clients", ["ssn"], ["SELECT"], "kyc-review", expires_at)
		alone := access.decision with input as request(analyst, "select", "clients", ["ssn"]) with data.custos.runtime as runtime({analyst: [expired]})
		denied(alone, [["ssn", "restricted_column"]])
		grants := {analyst: [expired, domain_grant("g-dom", "Client", ["SELECT"])]}
		d := access.decision with input as request(analyst, "select", "clients", ["ssn"]) with data.custos.runtime as runtime(grants)
		d.decision == "allow"
		codes(d) == [["ssn", "masked"]]
		d.obligations.mask == {"ssn": ssn_mask}
		d.grants == ["g-dom"]
	}
	one_second_left := {analyst: [table_grant("g-ssn", "clients", ["ssn"], ["SELECT"], "kyc-review", now + 1)]}
	last_second := access.decision with input as request(analyst, "select", "clients", ["ssn"]) with data.custos.runtime as runtime(one_second_left)
	codes(last_second) == [["ssn", "grant"]]
}

test_restricted_column_needs_the_column_named_on_a_table_grant if {
	whole_table := table_grant("g-table", "clients", [], ["SELECT"], "kyc-review", in_30_days)
	domain := object.union(domain_grant("g-dom", "Client", ["SELECT"]), {"columns": ["ssn"], "purpose": "kyc-review"})
	d := access.decision with input as request(analyst, "select", "clients", ["ssn"]) with data.custos.runtime as runtime({analyst: [whole_table, domain]})
	d.decision == "allow"
	codes(d) == [["ssn", "masked"]]
	d.grants == ["g-dom", "g-table"]
}

test_restricted_column_is_masked_on_describe if {
	grants := {analyst: [table_grant("g-desc", "clients", [], ["DESCRIBE"], "reporting", in_30_days)]}
	d := access.decision with input as request(analyst, "describe", "clients", ["date_of_birth"]) with data.custos.runtime as runtime(grants)
	d.decision == "allow"
	d.obligations.mask == {"date_of_birth": dob_mask}

	# A rule without params (or with null params) gives an empty params object.
	bare := access.decision with input as request(analyst, "describe", "clients", ["date_of_birth"])
		with data.custos.runtime as runtime(grants)
		with data.custos.runtime.masking_rules.redact as {"strategy": "redact", "params": null}
	bare.obligations.mask == {"date_of_birth": {"rule": "redact", "strategy": "redact", "params": {}}}
}

# Issue 13: with no grant and no domain membership, internal and confidential columns were denied but
# restricted ones allowed masked. Each level now asks at least what the level below asks.
test_ladder_a_principal_without_grant_or_domain_reads_only_public_columns if {
	every columns in [["security_id"], ["client_id"], ["first_name"], ["ssn"], ["date_of_birth"]] {
		table := {true: "securities_master", false: "clients"}[columns == ["security_id"]]
		d := access.decision with input as request(analytics, "select", table, columns) with data.custos.runtime as runtime({})
		d.decision == {true: "allow", false: "deny"}[columns == ["security_id"]]
	}
	ssn := access.decision with input as request(analytics, "select", "clients", ["ssn"]) with data.custos.runtime as runtime({})
	denied(ssn, [["ssn", "restricted_column"]])
	ssn.reasons[0].message == "column ssn is restricted: select needs an unexpired SELECT grant naming it for purpose kyc-review, or one covering table aurora/wealth/clients or domain Client to read it masked by rule ssn_last4"
}

test_ladder_a_domain_member_without_grant_reads_internal_but_not_confidential_or_restricted if {
	internal_col := access.decision with input as request(onboarding, "select", "clients", ["client_id"]) with data.custos.runtime as runtime({})
	internal_col.decision == "allow"
	every column in ["first_name", "ssn", "date_of_birth"] {
		d := access.decision with input as request(onboarding, "select", "clients", [column]) with data.custos.runtime as runtime({})
		d.decision == "deny"
	}
}

test_ladder_a_covering_grant_reads_confidential_in_clear_and_restricted_masked if {
	every g in [
		table_grant("g-t", "clients", [], ["SELECT"], "reporting", in_30_days),
		domain_grant("g-t", "Client", ["SELECT"]),
	] {
		d := access.decision with input as request(analytics, "select", "clients", ["client_id", "first_name", "ssn"]) with data.custos.runtime as runtime({analytics: [g]})
		d.decision == "allow"
		codes(d) == [["client_id", "grant"], ["first_name", "grant"], ["ssn", "masked"]]
		d.obligations.mask == {"ssn": ssn_mask}
		d.grants == ["g-t"]
	}

	# A grant on other columns of the table covers neither a confidential nor a restricted column.
	names := {analytics: [table_grant("g-n", "clients", ["last_name"], ["SELECT"], "reporting", in_30_days)]}
	e := access.decision with input as request(analytics, "select", "clients", ["first_name", "ssn"]) with data.custos.runtime as runtime(names)
	denied(e, [["first_name", "no_grant"], ["ssn", "restricted_column"]])

	# A grant with another permission does not cover a read.
	insert_only := {analytics: [table_grant("g-i", "clients", [], ["INSERT"], "reporting", in_30_days)]}
	f := access.decision with input as request(analytics, "select", "clients", ["ssn"]) with data.custos.runtime as runtime(insert_only)
	denied(f, [["ssn", "restricted_column"]])
}

test_restricted_column_without_a_masking_rule_is_denied if {
	d := access.decision with input as request(analyst, "select", "kyc_checks", ["passport_number"]) with data.custos.runtime as runtime({})
	denied(d, [["passport_number", "restricted_column"]])
	d.reasons[0].message == "column passport_number is restricted: select needs an unexpired SELECT grant naming it for purpose kyc-review, and it has no masking rule"
	grants := {analyst: [table_grant("g-pp", "kyc_checks", ["passport_number"], ["SELECT"], "kyc-review", in_30_days)]}
	allowed := access.decision with input as request(analyst, "select", "kyc_checks", ["passport_number"]) with data.custos.runtime as runtime(grants)
	allowed.decision == "allow"
	allowed.grants == ["g-pp"]
}

test_restricted_column_whose_masking_rule_is_missing_is_denied if {
	d := access.decision with input as request(analyst, "select", "kyc_checks", ["watchlist_hit"]) with data.custos.runtime as runtime({})
	denied(d, [["watchlist_hit", "restricted_column"]])
	d.reasons[0].message == "column watchlist_hit is restricted: select needs an unexpired SELECT grant naming it for purpose kyc-review, and its masking rule no_such_rule is not defined"
}

test_unranked_classification_is_treated_as_restricted if {
	d := access.decision with input as request(onboarding, "select", "kyc_checks", ["analyst_notes"]) with data.custos.runtime as runtime({onboarding: [domain_grant("g-dom", "Client", ["SELECT"])]})
	denied(d, [["analyst_notes", "restricted_column"]])
}

test_ranks_are_bucketed_by_threshold if {
	# sensitive (25) sits between confidential (20) and restricted (30): judged as confidential.
	ungranted := access.decision with input as request(onboarding, "select", "kyc_checks", ["risk_score"]) with data.custos.runtime as runtime({})
	denied(ungranted, [["risk_score", "no_grant"]])
	d := access.decision with input as request(onboarding, "select", "kyc_checks", ["risk_score"]) with data.custos.runtime as runtime({onboarding: [domain_grant("g-dom", "Client", ["SELECT"])]})
	d.decision == "allow"
	d.reasons[0].message == "column risk_score is confidential and an unexpired SELECT grant covers it"

	# Restricted from rank 25 up when the ranks say so.
	ranks := {"public": 0, "internal": 10, "confidential": 20, "sensitive": 25, "restricted": 25}
	e := access.decision with input as request(onboarding, "select", "kyc_checks", ["risk_score"])
		with data.custos.runtime as runtime({onboarding: [domain_grant("g-dom", "Client", ["SELECT"])]})
		with data.custos.runtime.classification_ranks as ranks
	denied(e, [["risk_score", "restricted_column"]])
}

test_missing_ranks_fall_back_to_the_reference_ranks if {
	req := request(onboarding, "select", "clients", ["client_id", "ssn", "first_name"])
	d := access.decision with input as req with data.custos.runtime as runtime({}) with data.custos.runtime.classification_ranks as {}
	denied(d, [["first_name", "no_grant"], ["ssn", "restricted_column"]])
	e := access.decision with input as request(onboarding, "select", "clients", ["client_id", "ssn"])
		with data.custos.runtime as runtime({onboarding: [table_grant("g-ssn", "clients", ["ssn"], ["SELECT"], "reporting", in_30_days)]})
		with data.custos.runtime.classification_ranks as {}
	e.decision == "allow"
	codes(e) == [["client_id", "domain_member"], ["ssn", "masked"]]
}

# ---------------------------------------------------------------------------------------------
# Writes: insert and delete need a grant with that permission for every column.

test_insert_without_a_grant_is_denied if {
	d := access.decision with input as request(onboarding, "insert", "securities_master", ["security_id"]) with data.custos.runtime as runtime({})
	denied(d, [["security_id", "no_grant"]])
	d.reasons[0].message == "column security_id is public: insert needs an unexpired INSERT grant covering table aurora/wealth/securities_master or domain Investment"

	# Domain membership is not enough to write an internal column.
	e := access.decision with input as request(onboarding, "insert", "clients", ["client_id"]) with data.custos.runtime as runtime({})
	denied(e, [["client_id", "no_grant"]])
	e.reasons[0].message == "column client_id is internal: insert needs an unexpired INSERT grant covering table aurora/wealth/clients or domain Client"
}

test_select_grant_does_not_allow_insert if {
	grants := {onboarding: [table_grant("g-sel", "securities_master", [], ["SELECT", "DESCRIBE"], "kyc-review", in_30_days)]}
	insert := access.decision with input as request(onboarding, "insert", "securities_master", ["security_id"]) with data.custos.runtime as runtime(grants)
	denied(insert, [["security_id", "no_grant"]])
}

test_insert_with_an_insert_grant_is_allowed if {
	grants := {onboarding: [table_grant("g-ins", "securities_master", [], ["SELECT", "INSERT"], "reference-data", in_30_days)]}
	d := access.decision with input as request(onboarding, "insert", "securities_master", []) with data.custos.runtime as runtime(grants)
	d.decision == "allow"
	codes(d) == [["security_id", "grant"], ["security_name", "grant"], ["security_type", "grant"], ["ticker_symbol", "grant"]]
	d.grants == ["g-ins"]
}

test_insert_of_a_restricted_column_is_never_masked if {
	d := access.decision with input as request(onboarding, "insert", "clients", ["ssn"]) with data.custos.runtime as runtime({onboarding: [domain_grant("g-dom", "Client", ["INSERT"])]})
	denied(d, [["ssn", "restricted_column"]])
	d.reasons[0].message == "column ssn is restricted: insert needs an unexpired INSERT grant naming it for purpose kyc-review, and masking only serves reads"
	grants := {onboarding: [table_grant("g-ssn", "clients", ["ssn"], ["INSERT"], "kyc-review", in_30_days)]}
	e := access.decision with input as request(onboarding, "insert", "clients", ["ssn"]) with data.custos.runtime as runtime(grants)
	e.decision == "allow"
	e.grants == ["g-ssn"]
}

test_delete_needs_a_delete_grant if {
	ungranted := access.decision with input as request(analytics, "delete", "price_history", []) with data.custos.runtime as runtime({})
	denied(ungranted, [
		["price", "no_grant"],
		["price_date", "no_grant"],
		["price_history_id", "no_grant"],
		["security_id", "no_grant"],
	])
	grants := {analytics: [domain_grant("g-del", "Investment", ["DELETE"])]}
	d := access.decision with input as request(analytics, "delete", "price_history", []) with data.custos.runtime as runtime(grants)
	d.decision == "allow"
	d.grants == ["g-del"]
}

# ---------------------------------------------------------------------------------------------
# Several columns, whole tables and the grants that applied

test_mixed_columns_are_each_explained if {
	grants := {onboarding: [
		table_grant("g-names", "clients", ["first_name", "last_name"], ["SELECT"], "kyc-review", in_30_days),
		table_grant("g-pii", "clients", ["ssn", "date_of_birth"], ["SELECT"], "reporting", in_30_days),
	]}
	d := access.decision with input as request(onboarding, "select", "clients", ["ssn", "first_name", "client_id", "date_of_birth"]) with data.custos.runtime as runtime(grants)
	d.decision == "allow"
	codes(d) == [["client_id", "domain_member"], ["date_of_birth", "masked"], ["first_name", "grant"], ["ssn", "masked"]]
	d.obligations == {"mask": {"date_of_birth": dob_mask, "ssn": ssn_mask}}
	d.grants == ["g-names", "g-pii"]
}

test_one_denied_column_denies_all_and_drops_obligations if {
	grants := {onboarding: [table_grant("g-ssn", "clients", ["ssn"], ["SELECT"], "reporting", in_30_days)]}
	d := access.decision with input as request(onboarding, "select", "clients", ["ssn", "first_name", "client_id", "marital_status"]) with data.custos.runtime as runtime(grants)
	denied(d, [["first_name", "no_grant"], ["marital_status", "no_grant"]])
}

test_whole_table_with_grants_lists_every_grant_that_applied if {
	grants := {analyst: [
		table_grant("g-c", "clients", [], ["SELECT"], "reporting", in_30_days),
		domain_grant("g-a", "Client", ["SELECT"]),
		table_grant("g-b", "clients", ["ssn"], ["SELECT"], "kyc-review", in_30_days),
		table_grant("g-expired", "clients", [], ["SELECT"], "kyc-review", now - day),
		table_grant("g-insert", "clients", [], ["INSERT"], "kyc-review", in_30_days),
		table_grant("g-other", "contact_information", [], ["SELECT"], "kyc-review", in_30_days),
	]}
	d := access.decision with input as request(analyst, "select", "clients", []) with data.custos.runtime as runtime(grants)
	d.decision == "allow"
	codes(d) == [
		["client_id", "grant"], ["created_at", "grant"], ["date_of_birth", "masked"], ["first_name", "grant"],
		["last_name", "grant"], ["marital_status", "grant"], ["ssn", "grant"], ["updated_at", "grant"],
	]
	d.obligations.mask == {"date_of_birth": dob_mask}
	d.grants == ["g-a", "g-b", "g-c"]
}

test_grants_of_other_principals_do_not_apply if {
	grants := {analyst: [table_grant("g-1", "clients", ["first_name"], ["SELECT"], "kyc-review", in_30_days)]}
	d := access.decision with input as request(analytics, "select", "clients", ["first_name"]) with data.custos.runtime as runtime(grants)
	denied(d, [["first_name", "no_grant"]])
}

test_malformed_grants_never_apply if {
	grants := {analytics: [
		object.union(table_grant("g-1", "clients", [], ["SELECT"], "r", in_30_days), {"expires_at": "2099-01-01"}),
		object.union(table_grant("g-2", "clients", [], ["SELECT"], "r", in_30_days), {"permissions": "SELECT"}),
		object.union(table_grant("g-3", "clients", [], ["SELECT"], "r", in_30_days), {"columns": "first_name"}),
		object.union(table_grant("g-4", "clients", [], ["SELECT"], "r", in_30_days), {"scope": "lf_tag"}),
		"g-5",
	]}
	d := access.decision with input as request(analytics, "select", "clients", ["first_name"]) with data.custos.runtime as runtime(grants)
	denied(d, [["first_name", "no_grant"]])
}

# ---------------------------------------------------------------------------------------------
# Malformed input: always a decision, deny invalid_input.

test_malformed_input_is_denied_as_invalid_input if {
	base := request(analytics, "select", "securities_master", ["security_id"])
	every bad in [
		"select",
		[base],
		{},
		json.remove(base, ["principal"]),
		object.union(base, {"principal": ""}),
		object.union(base, {"action": 1}),
		json.remove(base, ["purpose"]),
		json.remove(base, ["now"]),
		object.union(base, {"now": "1795000000"}),
		object.union(base, {"resource": "aurora/wealth/securities_master"}),
		object.union(base, {"resource": null}),
		json.remove(base, ["resource/table"]),
		object.union(base, {"resource": {"store": "aurora", "database": 7, "table": "securities_master"}}),
		object.union(base, {"resource": {"store": "aurora", "database": "wealth", "table": "securities_master", "columns": "security_id"}}),
		object.union(base, {"resource": {"store": "aurora", "database": "wealth", "table": "securities_master", "columns": ["security_id", 1]}}),
	] {
		d := access.decision with input as bad with data.custos.runtime as runtime({})
		d.decision == "deny"
		count(d.reasons) > 0
		every r in d.reasons {
			r.code == "invalid_input"
		}
		d.obligations == {"mask": {}}
		d.grants == []
	}
}

test_malformed_input_reasons_say_what_is_wrong if {
	d := access.decision with input as {"action": 3, "resource": {"store": "aurora", "columns": {}}} with data.custos.runtime as runtime({})
	[r.message | some r in d.reasons] == [
		"action must be a string",
		"now must be a number (epoch seconds)",
		"principal must be a non-empty string",
		"purpose must be a non-empty string",
		"resource.columns must be an array of column names",
		"resource.database must be a non-empty string",
		"resource.table must be a non-empty string",
	]
	e := access.decision with input as "nonsense" with data.custos.runtime as runtime({})
	e.reasons == [{"code": "invalid_input", "message": "the input must be an object"}]
	f := access.decision with input as object.union(request(analytics, "select", "securities_master", []), {"resource": []}) with data.custos.runtime as runtime({})
	f.reasons == [{"code": "invalid_input", "message": "resource must be an object"}]
}

test_decision_is_defined_without_input if {
	d := access.decision with data.custos.runtime as runtime({})
	d.decision == "deny"
	d.reasons == [{"code": "invalid_input", "message": "the input must be an object"}]
}

test_context_is_ignored if {
	req := object.union(request(analytics, "select", "securities_master", ["security_id"]), {"context": {"admin": true, "now": 0}})
	with_context := access.decision with input as req with data.custos.runtime as runtime({})
	without_context := access.decision with input as json.remove(req, ["context"]) with data.custos.runtime as runtime({})
	with_context == without_context
	with_context.decision == "allow"
}
