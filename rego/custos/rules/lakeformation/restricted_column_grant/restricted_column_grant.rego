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

# Approved grants as keys, so a check is one lookup: [principal, database, table, column, live] for
# column grants, [principal, database, table, live] for whole-table grants (no columns).
column_grants contains [grant.principal, grant.database, grant.table, column, live] if {
	some grant in input.catalog.approved_grants
	object.get(grant, "scope", "table") == "table"
	some column in grant.columns
	live := grant.expires_at > input.now
}

table_grants contains [grant.principal, grant.database, grant.table, live] if {
	some grant in input.catalog.approved_grants
	object.get(grant, "scope", "table") == "table"
	count(grant.columns) == 0
	live := grant.expires_at > input.now
}

granted(principal, database, table, column, live) if {
	[principal, database, table, column, live] in column_grants
}

granted(principal, database, table, _, live) if {
	[principal, database, table, live] in table_grants
}

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

# Approved lf_tag grants as [principal, expression, live].
lf_tag_grants contains [grant.principal, expression_key(grant.lf_tag_expression), live] if {
	some grant in input.catalog.approved_grants
	object.get(grant, "scope", "table") == "lf_tag"
	live := grant.expires_at > input.now
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
	some assignment in object.get(input.lake_formation, "lf_tag_assignments", [])
	assignment.account == permission.account
	assignment.region == permission.region
	database := assignment.database
	table := object.get(assignment, "table", null)
	is_string(table)
	some column in restricted_columns[[database, table]]
	matches(expression, effective_tags(assignment, column))
}

missing(principal, database, table, column) := "an expired grant" if {
	granted(principal, database, table, column, false)
} else := "an approved grant"

violations contains v if {
	some [principal, account, region, database, table, column] in exposures
	not granted(principal, database, table, column, true)
	resource := {
		"type": "AWS::LakeFormation::Permission",
		"id": concat("", [principal, ":", database, ".", table, ".", column]),
		"account": account,
		"region": region,
	}
	# concat runs inside Wasm; sprintf is a call out to JS, slow over many permissions.
	msg := concat("", [principal, " can SELECT restricted column ", database, ".", table, ".", column, " without ", missing(principal, database, table, column)])
	v := lib.violation(rego.metadata.chain(), resource, msg)
}

violations contains v if {
	some [principal, account, region, database, table, column, expression] in lf_tag_exposures
	not [principal, account, region, database, table, column] in exposures
	not granted(principal, database, table, column, true)
	not [principal, expression, true] in lf_tag_grants
	resource := {
		"type": "AWS::LakeFormation::Permission",
		"id": concat("", [principal, ":", database, ".", table, ".", column]),
		"account": account,
		"region": region,
	}
	msg := concat("", [principal, " can SELECT restricted column ", database, ".", table, ".", column, " through an LF-tag policy without ", missing(principal, database, table, column)])
	v := lib.violation(rego.metadata.chain(), resource, msg)
}
