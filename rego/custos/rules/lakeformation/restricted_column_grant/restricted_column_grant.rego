# METADATA
# title: Lake Formation exposes a restricted column without an approved grant
# description: |
#   A Lake Formation SELECT (or ALL) permission on a catalogued table that reaches a column classified
#   restricted, for a principal with no unexpired approved grant to that column (or to the whole table).
#   A table permission, or a table wildcard "*" over the database, reaches every restricted column;
#   a column permission reaches the columns it names, or with a column wildcard all but the excluded ones;
#   an LF-tag policy permission (resource type TABLE) reaches every restricted column whose LF-tags
#   (its own, else its table's, else its database's, per key, as collected) match its expression.
#   Approved grants are Custos grants in status active or pending_apply; an LF-tag policy is also
#   approved by an approved lf_tag grant of the same expression to the same principal.
# custom:
#   id: lakeformation.restricted_column_grant
#   scope: account
#   item_types: [AWS::LakeFormation::Permission]
#   reads: [catalog, lf_tag_assignments]
#   severity: critical
#   controls: [CC6.1, CC6.3, C1.1]
#   resource_types: [AWS::LakeFormation::Permission]
#   absence_is_compliance: true
#   remediation: lakeformation_revoke
package custos.rules.lakeformation.restricted_column_grant

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

read_permissions := {"SELECT", "ALL"}

# The restricted columns of every catalogued table, by [database, table]. A table catalogued in
# several stores gets the restricted columns of all of them.
restricted_columns := {[asset.database, asset.table]: columns |
	some asset in input.catalog.assets
	columns := {column.name |
		some other in input.catalog.assets
		other.database == asset.database
		other.table == asset.table
		some column in other.columns
		column.classification == "restricted"
	}
}

# When the approved grants end, keyed for one lookup per exposure: column grants by [principal,
# database, table, column], whole-table grants (no columns) by [principal, database, table]. Expired
# ones count too: the message names them.
column_grant_ends[[grant.principal, grant.database, grant.table, column]] contains grant.expires_at if {
	some grant in input.catalog.approved_grants
	object.get(grant, "scope", "table") == "table"
	some column in grant.columns
}

table_grant_ends[[grant.principal, grant.database, grant.table]] contains grant.expires_at if {
	some grant in input.catalog.approved_grants
	object.get(grant, "scope", "table") == "table"
	count(grant.columns) == 0
}

# When the grants covering a column end: its column grants' and its table's. (object.get reads an
# array key as a path: the key, an array itself, is the path's one step.)
grant_expiries(principal, database, table, column) := object.get(column_grant_ends, [[principal, database, table, column]], set()) | object.get(table_grant_ends, [[principal, database, table]], set())

reads(permission) if {
	some p in permission.permissions
	p in read_permissions
}

# The catalogued tables a permission's resource names, each with its restricted columns.
catalogued_tables(resource) := {resource.table: restricted_columns[[resource.database, resource.table]]} if {
	resource.table != "*"
}

catalogued_tables(resource) := {key[1]: columns |
	some key, columns in restricted_columns
	key[0] == resource.database
} if {
	resource.table == "*"
}

# Which of a table's restricted columns a permission's resource reaches.
exposed_columns(resource, restricted) := restricted if {
	resource.kind == "table"
}

exposed_columns(resource, restricted) := named | column_wildcard(resource, restricted) if {
	resource.kind == "table_with_columns"
	named := restricted & {c | some c in object.get(resource, "columns", [])}
}

# A column wildcard is excluded_columns, or the absence of a column list (read as all columns).
column_wildcard(resource, restricted) := restricted - {c | some c in object.get(resource, "excluded_columns", [])} if {
	wildcard(resource)
} else := set()

wildcard(resource) if object.get(resource, "excluded_columns", null) != null

wildcard(resource) if object.get(resource, "columns", null) == null

exposures contains [permission.principal, permission.account, permission.region, resource.database, table, column] if {
	some permission in input.lake_formation.permissions
	reads(permission)
	resource := permission.resource
	some table, restricted in catalogued_tables(resource)
	some column in exposed_columns(resource, restricted)
}

# LF-tag policies. An expression is [{key, values}]: AND across keys, OR across values.
expression_key(expression) := {[term.key, {v | some v in term.values}] | some term in expression}

# When the approved lf_tag grants end, by [principal, expression].
lf_tag_grant_ends[[grant.principal, expression_key(grant.lf_tag_expression)]] contains grant.expires_at if {
	some grant in input.catalog.approved_grants
	object.get(grant, "scope", "table") == "lf_tag"
}

# Tags as {key: {values}}; a key listed twice gets the union of its values.
tag_map(tags) := {key: values |
	some tag in tags
	key := tag.key
	values := {v | some other in tags; other.key == key; some v in other.values}
}

# A column's effective LF-tags: its own, else its table's, else its database's, key by key.
effective_tags(assignment, column) := object.union(
	object.union(tag_map(object.get(assignment, "lf_tags_on_database", [])), tag_map(object.get(assignment, "lf_tags_on_table", []))),
	tag_map([tag | some c in object.get(assignment, "lf_tags_on_columns", []); c.column == column; some tag in c.lf_tags]),
)

matches(expression, tags) if {
	every term in expression {
		some value in term.values
		value in tags[term.key]
	}
}

lf_tag_exposures contains [permission.principal, permission.account, permission.region, database, table, column, expression_key(expression)] if {
	some permission in input.lake_formation.permissions
	permission.resource.kind == "lf_tag_policy"
	object.get(permission.resource, "resource_type", "TABLE") == "TABLE"
	reads(permission)
	expression := permission.resource.expression
	count(expression) > 0
	some assignment in lf_tag_assignments
	assignment.account == permission.account
	assignment.region == permission.region
	database := assignment.database
	table := object.get(assignment, "table", null)
	is_string(table)
	some column in restricted_columns[[database, table]]
	matches(expression, effective_tags(assignment, column))
}

default lf_tag_assignments := []

lf_tag_assignments := input.lake_formation.lf_tag_assignments

# Which grant the message says is missing: an expired one where a grant existed (a violation holds
# only once every grant covering the column has ended), else an approved one.
missing(principal, database, table, column) := "an expired grant" if {
	count(grant_expiries(principal, database, table, column)) > 0
} else := "an approved grant"

# The violation, time-bound: it does not read `now`. Without any grant covering the column it holds
# at once; with grants, it begins when the last of them ends (a grant is live while now is before
# its expires_at: the violation holds from expires_at on, and times are whole seconds). So an
# unchanged permission's verdict stands from one evaluation to the next and the violation is
# reported the day the grant ends (src/evaluation/time-bound.ts).
violation(resource, msg, expiries) := lib.violation(rego.metadata.chain(), resource, msg) if {
	count(expiries) == 0
} else := lib.violation_after(rego.metadata.chain(), resource, msg, max(expiries) - 1)

permission_resource(principal, account, region, database, table, column) := {
	"type": "AWS::LakeFormation::Permission",
	"id": concat("", [principal, ":", database, ".", table, ".", column]),
	"account": account,
	"region": region,
}

violations contains v if {
	some [principal, account, region, database, table, column] in exposures
	resource := permission_resource(principal, account, region, database, table, column)

	# concat runs inside Wasm; sprintf is a call out to JS, slow over many permissions.
	msg := concat("", [principal, " can SELECT restricted column ", database, ".", table, ".", column, " without ", missing(principal, database, table, column)])
	v := violation(resource, msg, grant_expiries(principal, database, table, column))
}

violations contains v if {
	some [principal, account, region, database, table, column, expression] in lf_tag_exposures
	not [principal, account, region, database, table, column] in exposures
	resource := permission_resource(principal, account, region, database, table, column)
	msg := concat("", [principal, " can SELECT restricted column ", database, ".", table, ".", column, " through an LF-tag policy without ", missing(principal, database, table, column)])
	v := violation(resource, msg, grant_expiries(principal, database, table, column) | object.get(lf_tag_grant_ends, [[principal, expression]], set()))
}
