# METADATA
# title: Custos policy library
# description: Helpers every rule uses to read the normalised state and to shape violations.
package custos.lib

# The rule's own METADATA (its package annotations), as rule metadata for the API.
# `chain` is rego.metadata.chain() called from the rule. `auto_remediate: true` (remediation may run
# without approval when its action is low risk) is added only to the rules that say so, and so is
# `absence_is_compliance: true` (no resource of the rule's types is compliance, provided the type was
# listed completely: "no public bucket" holds over zero buckets only if S3 was fully listed).
metadata(chain) := object.union(object.union(object.union(object.union(base_metadata(chain), auto_remediation(chain)), absence(chain)), references(chain)), listing(chain))

# `listing_scope` (region, account, account_regions or resources) on rules that conclude from
# absence: where the types they rely on (`listed_types`, default their resource_types) must have been
# listed completely, both for the rule to fire (the helpers below) and for its silence to count as
# tested (src/sources/coverage.ts ruleCoverage).
listing(chain) := {"listing_scope": a.custom.listing_scope, "listed_types": object.get(a.custom, "listed_types", a.custom.resource_types)} if {
	some entry in chain
	entry.annotations.scope == "package"
	a := entry.annotations
	a.custom.listing_scope
} else := {}

absence(chain) := {"absence_is_compliance": true} if {
	some entry in chain
	entry.annotations.scope == "package"
	entry.annotations.custom.absence_is_compliance == true
} else := {}

# `hint` (how to fix it, in words) and `seed` (the seed document and section that asks for it), for
# the rules that give them; `reads` (the parts of the input besides its own items that a rule of
# scope resource reads: now, catalog, coverage, lf_tag_assignments) and `item_types` (the types of the
# items a rule of scope account reads), for the rules that declare them.
references(chain) := {k: v |
	some entry in chain
	entry.annotations.scope == "package"
	some k in ["hint", "seed", "reads", "item_types"]
	v := entry.annotations.custom[k]
}

auto_remediation(chain) := {"auto_remediate": true} if {
	some entry in chain
	entry.annotations.scope == "package"
	entry.annotations.custom.auto_remediate == true
} else := {}

base_metadata(chain) := {
	"id": a.custom.id,
	"title": a.title,
	"description": object.get(a, "description", ""),
	"severity": a.custom.severity,
	"controls": a.custom.controls,
	"resource_types": a.custom.resource_types,
	"remediation": object.get(a.custom, "remediation", "none"),
	"scope": object.get(a.custom, "scope", "global"),
	"package": concat(".", entry.path),
} if {
	some entry in chain
	entry.annotations.scope == "package"
	a := entry.annotations
}

# One explained violation: which rule, how severe, which controls, why, about what.
violation(chain, resource, msg) := {
	"id": m.id,
	"severity": m.severity,
	"controls": m.controls,
	"msg": msg,
	"resource": {
		"type": resource.type,
		"id": resource.id,
		"account": object.get(resource, "account", ""),
		"region": object.get(resource, "region", ""),
	},
	"rule": m,
} if {
	m := metadata(chain)
}

# A violation that holds only once input.now is later than `after` (seconds since the epoch). A rule
# whose verdict depends on the time reports when the violation begins instead of reading input.now
# (and its message must not depend on the time either): its verdict on an item then depends on the
# item alone, so an unchanged item's verdict is reused, and Custos reports the violation once the
# evaluation's now is later than `after` (src/evaluation/time-bound.ts), however many evaluations
# later that is.
#
# Unlike violation, it does not carry the rule's metadata (`rule`): most of these violations begin
# later, and the metadata is most of a violation's size, so Custos attaches it by rule id instead.
violation_after(chain, resource, msg, after) := {
	"id": a.custom.id,
	"severity": a.custom.severity,
	"controls": a.custom.controls,
	"msg": msg,
	"resource": {
		"type": resource.type,
		"id": resource.id,
		"account": object.get(resource, "account", ""),
		"region": object.get(resource, "region", ""),
	},
	"violates_after": after,
} if {
	some entry in chain
	entry.annotations.scope == "package"
	a := entry.annotations
}

# Whether violation v holds at `now`: what an evaluation reports (the rules' tests ask it too).
holds(v, _) if not has(v, "violates_after")

holds(v, now) if now > v.violates_after

# The UTC date (YYYY-MM-DD) of a time in seconds since the epoch, from 1970 on: the time.* builtins
# are not compiled into Wasm. Howard Hinnant's days-to-civil algorithm, in integers.
date(seconds) := concat("-", [format_int(year, 10), two_digits(month), two_digits(day)]) if {
	z := floor(seconds / 86400) + 719468
	era := idiv(z, 146097)
	doe := z - (era * 146097)
	yoe := idiv(((doe - idiv(doe, 1460)) + idiv(doe, 36524)) - idiv(doe, 146096), 365)
	doy := doe - (((365 * yoe) + idiv(yoe, 4)) - idiv(yoe, 100))
	mp := idiv((5 * doy) + 2, 153)
	day := (doy - idiv((153 * mp) + 2, 5)) + 1
	month := civil_month(mp)
	year := (yoe + (era * 400)) + january_or_february(month)
}

idiv(a, b) := (a - (a % b)) / b

civil_month(mp) := mp + 3 if mp < 10

else := mp - 9

january_or_february(month) := 1 if month <= 2

else := 0

two_digits(n) := concat("", ["0", format_int(n, 10)]) if n < 10

else := format_int(n, 10)

# Coverage: input.coverage[type][account][region] is true where the run listed the type completely
# there, false where it listed it incompletely; absent where it did not list it (src/policy/input.ts).
# A rule that concludes from absence ("no trail", "no detector", "no plan selects it") asks one of
# these first, so that data never seen is never a verdict.

# The type was listed completely in the account and region.
listed(type, account, region) if input.coverage[type][account][region] == true

# The resource's own type was listed completely where it was observed (settings read whole).
listed_here(resource) if listed(resource.type, resource.account, resource.region)

# The accounts the run covered (listed anything in), whatever the type.
covered_accounts contains account if {
	some accounts in input.coverage
	some account, _ in accounts
}

# The regions of an account the run covered, whatever the type ('' is account-level, not a region).
covered_regions(account) := {region |
	some accounts in input.coverage
	some region, _ in accounts[account]
	region != ""
}

# Listed completely in every region of the account the run covered (and it covered at least one).
listed_in_every_region(type, account) if {
	regions := covered_regions(account)
	count(regions) > 0
	every region in regions {
		listed(type, account, region)
	}
}

# The collected resources of one AWS type.
resources(type) := [r | some r in input.resources; r.type == type]

days(n) := n * 86400

# Classification ranks of the seeded levels (migration 004); an unknown name ranks below all, so a
# misspelt DataClassification tag is never read as high enough.
classification_ranks := {"public": 0, "internal": 1, "confidential": 2, "restricted": 3}

classification_rank(name) := object.get(classification_ranks, lower(name), -1)

# The catalog's classification of the data behind an AWS resource, for the stores it maps: an S3
# bucket is the database (bucket) of s3 assets, a DynamoDB table the table of dynamodb assets, an
# RDS/Aurora cluster or instance the database of aurora assets. The highest when several match.
catalog_rank(resource) := max(ranks) if {
	ranks := {classification_rank(a.classification) | some a in input.catalog.assets; behind(a, resource)}
	count(ranks) > 0
}

behind(asset, resource) if {
	resource.type == "AWS::S3::Bucket"
	asset.store == "s3"
	asset.database == resource.id
}

behind(asset, resource) if {
	resource.type == "AWS::DynamoDB::Table"
	asset.store == "dynamodb"
	asset.table == resource.id
}

behind(asset, resource) if {
	resource.type in {"AWS::RDS::DBCluster", "AWS::RDS::DBInstance"}
	asset.store == "aurora"
	asset.database == object.get(resource.configuration, "database_name", null)
}

# A regional resource of `type` (id account:region) collected for the resource's account and region.
regional(type, resource) := r if {
	some r in resources(type)
	r.account == resource.account
	r.region == resource.region
}

# Whether the object has the key, whatever its value (null and false included): fields added to a
# type later are judged only where the collector produced them.
has(obj, key) if {
	_ = obj[key]
}
