# METADATA
# title: Data access decision
# description: |
#   custos/access/decision: may principal P do action A on these columns of table T for purpose X?
#   Deny by default. Each requested column (every column of the table when none are named) is
#   judged by its classification: public columns are readable by any registered principal;
#   internal ones by members of the table's domain or holders of a grant covering the table or
#   domain; confidential ones by holders of such a grant; restricted ones in clear only with an
#   unexpired grant naming the column for the declared purpose, and otherwise read masked by the
#   column's masking rule (seed 001 §5.2) only by holders of a grant covering them (what a
#   confidential column needs: masking never asks less than the level below), or denied when no
#   such grant covers them or they have no masking rule. Inserts and deletes need a
#   grant with that permission for every column. Reads the catalog, principals, masking rules and
#   grants from data.custos.runtime and the evaluation time from input.now; never reads the clock.
#   The decision is always defined: allow or deny, reasons sorted by column then code, masking
#   obligations (allow only) and the ids of the grants that applied (allow only).
package custos.access

actions := {"select", "insert", "delete", "describe"}

# Actions that return data to the caller: only these can be satisfied by masking.
read_actions := {"select", "describe"}

# Used when data.custos.runtime.classification_ranks lacks a level (seed 001 §10.1 ranks).
default_ranks := {"public": 0, "internal": 10, "confidential": 20, "restricted": 30}

decision := {
	"decision": verdict,
	"reasons": sorted_reasons(explained),
	"obligations": {"mask": mask},
	"grants": applied_grants,
}

default verdict := "deny"

verdict := "allow" if allowed

allowed if {
	count(deny_reasons) == 0
	count(outcomes) > 0
}

deny_reasons := (input_errors | request_errors) | {o.reason | some o in outcomes; not o.allowed}

# On allow, the basis of each column; on deny, only what denied.
explained := {o.reason | some o in outcomes} if {
	allowed
} else := deny_reasons

mask := {name: m | some name, o in outcomes; m := o.mask} if {
	allowed
} else := {}

applied_grants := sort({id | some o in outcomes; some id in o.grants}) if {
	allowed
} else := []

# Sorted by column (none first), then code, then message.
sorted_reasons(reasons) := [t[2] | some t in sort([[object.get(r, "column", ""), r.code, r] | some r in reasons])]

reason(code, message) := {"code": code, "message": message}

column_reason(code, name, message) := {"code": code, "column": name, "message": message}

# ---------------------------------------------------------------------------------------------
# The request's shape: anything malformed denies with invalid_input before anything is looked up.

input_errors contains reason("invalid_input", "the input must be an object") if not input_is_object

input_errors contains reason("invalid_input", concat("", [field, " must be a non-empty string"])) if {
	input_is_object
	some field in ["principal", "purpose"]
	not non_empty_string(object.get(input, field, null))
}

input_errors contains reason("invalid_input", "action must be a string") if {
	input_is_object
	not is_string(object.get(input, "action", null))
}

input_errors contains reason("invalid_input", "now must be a number (epoch seconds)") if {
	input_is_object
	not is_number(object.get(input, "now", null))
}

input_errors contains reason("invalid_input", "resource must be an object") if {
	input_is_object
	not is_object(object.get(input, "resource", null))
}

input_errors contains reason("invalid_input", concat("", ["resource.", field, " must be a non-empty string"])) if {
	is_object(input.resource)
	some field in ["store", "database", "table"]
	not non_empty_string(object.get(input.resource, field, null))
}

input_errors contains reason("invalid_input", "resource.columns must be an array of column names") if {
	is_object(input.resource)
	not columns_well_formed
}

# `not f(input.x)` is false, not true, when input.x is absent (the reference is evaluated outside the
# negation): absent fields are read through object.get, and the input itself through this rule.
input_is_object if is_object(input)

non_empty_string(s) if {
	is_string(s)
	s != ""
}

columns_well_formed if object.get(input.resource, "columns", null) == null

columns_well_formed if {
	is_array(input.resource.columns)
	every c in input.resource.columns {
		is_string(c)
	}
}

input_ok if count(input_errors) == 0

# ---------------------------------------------------------------------------------------------
# The request's terms: who, what, on which table and columns. The catalog is only described to a
# registered principal.

principal := p if {
	p := data.custos.runtime.principals[input.principal]
	is_object(p)
}

principal_known if principal

table_key := concat("/", [input.resource.store, input.resource.database, input.resource.table])

table := t if {
	t := data.custos.runtime.tables[table_key]
	is_object(t.columns)
}

table_known if table

table_columns := {name | some name, _ in table.columns}

# Absent, null or empty columns: every column of the table.
requested_columns := {c | some c in input.resource.columns} if {
	is_array(input.resource.columns)
	count(input.resource.columns) > 0
} else := table_columns

request_errors contains reason("unknown_principal", concat("", ["principal ", input.principal, " is not registered"])) if {
	input_ok
	not principal_known
}

request_errors contains reason("invalid_action", concat("", ["action ", input.action, " is not one of select, insert, delete, describe"])) if {
	input_ok
	not input.action in actions
}

request_errors contains reason("unknown_table", concat("", ["table ", table_key, " is not in the catalog"])) if {
	input_ok
	principal_known
	not table_known
}

request_errors contains column_reason("unknown_column", c, concat("", ["column ", c, " is not in table ", table_key])) if {
	input_ok
	principal_known
	table_known
	some c in requested_columns
	not c in table_columns
}

request_errors contains reason("no_columns", concat("", ["table ", table_key, " has no catalogued columns"])) if {
	input_ok
	principal_known
	table_known
	count(requested_columns) == 0
}

# ---------------------------------------------------------------------------------------------
# One outcome per requested column, once the request is well-formed and known.

outcomes[name] := column_outcome(name, col, level(col)) if {
	input_ok
	count(request_errors) == 0
	some name in requested_columns
	col := table.columns[name]
}

# The column's own classification, bucketed by rank: a rank at or above restricted's is restricted,
# and so is a classification without a rank (fail closed).
level(col) := "restricted" if {
	column_rank(col) >= threshold("restricted")
} else := "confidential" if {
	column_rank(col) >= threshold("confidential")
} else := "internal" if {
	column_rank(col) >= threshold("internal")
} else := "public"

column_rank(col) := r if {
	r := threshold(col.classification)
} else := threshold("restricted")

# The rank of a classification: from the runtime data, else the reference ranks; undefined when
# neither knows it.
threshold(name) := r if {
	r := data.custos.runtime.classification_ranks[name]
	is_number(r)
} else := default_ranks[name]

# Exactly one outcome per column (an else chain cannot conflict). lvl is level(col).
# The ladder never asks less of a higher level: a restricted column read masked needs at least what
# a confidential column needs (a grant covering it), so masking is never a way around the grant that
# a lower level would have required (issue 13).
column_outcome(name, col, lvl) := allowed_column(name, "grant", msg, ids) if {
	lvl == "restricted"
	ids := naming_grant_ids(name)
	count(ids) > 0
	msg := concat("", ["column ", name, " is restricted and an unexpired ", permission, " grant names it for purpose ", input.purpose])
} else := o if {
	lvl == "restricted"
	input.action in read_actions
	rule := data.custos.runtime.masking_rules[col.masking_rule]
	ids := covering_grant_ids(name)
	count(ids) > 0
	msg := concat("", [
		"column ", name, " is restricted and no unexpired ", permission, " grant names it for purpose ",
		input.purpose, "; a grant covers it: masked by rule ", col.masking_rule,
	])
	o := object.union(allowed_column(name, "masked", msg, ids), {"mask": {
		"rule": col.masking_rule,
		"strategy": rule.strategy,
		"params": mask_params(rule),
	}})
} else := denied_column(name, "restricted_column", msg) if {
	lvl == "restricted"
	msg := concat("", [
		"column ", name, " is restricted: ", input.action, " needs an unexpired ", permission,
		" grant naming it for purpose ", input.purpose, restricted_denial(col),
	])
} else := allowed_column(name, "public", concat("", ["column ", name, " is public"]), set()) if {
	lvl == "public"
	input.action in read_actions
} else := allowed_column(name, "domain_member", msg, set()) if {
	lvl == "internal"
	input.action in read_actions
	domain_member
	msg := concat("", ["column ", name, " is internal and the principal belongs to domain ", table.domain])
} else := allowed_column(name, "grant", msg, ids) if {
	lvl != "restricted"
	ids := covering_grant_ids(name)
	count(ids) > 0
	msg := concat("", ["column ", name, " is ", lvl, " and an unexpired ", permission, " grant covers it"])
} else := denied_column(name, "no_grant", msg) if {
	msg := concat("", [
		"column ", name, " is ", lvl, ": ", input.action, " needs ", membership_alternative(lvl),
		"an unexpired ", permission, " grant covering table ", table_key, domain_alternative,
	])
}

allowed_column(name, code, message, ids) := {"allowed": true, "reason": column_reason(code, name, message), "grants": ids}

denied_column(name, code, message) := {"allowed": false, "reason": column_reason(code, name, message), "grants": set()}

restricted_denial(col) := ", and masking only serves reads" if {
	not input.action in read_actions
} else := ", and it has no masking rule" if {
	not masking_rule_name(col)
} else := concat("", [", and its masking rule ", masking_rule_name(col), " is not defined"]) if {
	not data.custos.runtime.masking_rules[col.masking_rule]
} else := concat("", [
	", or one covering table ", table_key, domain_alternative, " to read it masked by rule ", col.masking_rule,
])

masking_rule_name(col) := col.masking_rule if is_string(col.masking_rule)

mask_params(rule) := rule.params if {
	is_object(rule.params)
} else := {}

membership_alternative(lvl) := concat("", ["membership of domain ", table.domain, " or "]) if {
	lvl == "internal"
	input.action in read_actions
	is_string(table.domain)
} else := ""

domain_alternative := concat("", [" or domain ", table.domain]) if {
	is_string(table.domain)
} else := ""

domain_member if {
	is_string(principal.domain)
	principal.domain == table.domain
}

# ---------------------------------------------------------------------------------------------
# Grants: this principal's, unexpired at input.now, with the action's permission.

permission := upper(input.action)

valid_grants contains g if {
	some g in data.custos.runtime.grants[input.principal]
	is_number(g.expires_at)
	g.expires_at > input.now
	is_array(g.permissions)
	permission in g.permissions
}

# Grants that name the column on this table for the declared purpose: what a restricted column needs.
naming_grant_ids(name) := {g.id |
	some g in valid_grants
	on_table(g)
	names_column(g, name)
	g.purpose == input.purpose
}

# Grants on this table or its domain whose columns are empty (all) or include the column.
covering_grant_ids(name) := {g.id |
	some g in valid_grants
	in_scope(g)
	column_in_grant(g, name)
}

in_scope(g) if on_table(g)

in_scope(g) if {
	g.scope == "domain"
	is_string(table.domain)
	g.domain == table.domain
}

on_table(g) if {
	g.scope == "table"
	g.store == input.resource.store
	g.database == input.resource.database
	g.table == input.resource.table
}

column_in_grant(g, _) if {
	is_array(g.columns)
	count(g.columns) == 0
}

column_in_grant(g, name) if names_column(g, name)

names_column(g, name) if {
	is_array(g.columns)
	name in g.columns
}
