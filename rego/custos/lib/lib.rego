# METADATA
# title: Custos policy library
# description: Helpers every rule uses to read the normalised state and to shape violations.
package custos.lib

# The rule's own METADATA (its package annotations), as rule metadata for the API.
# `chain` is rego.metadata.chain() called from the rule. `auto_remediate: true` (remediation may run
# without approval when its action is low risk) is added only to the rules that say so, and so is
# `absence_is_compliance: true` (no resource of the rule's types is compliance, provided the type was
# listed completely: "no public bucket" holds over zero buckets only if S3 was fully listed).
metadata(chain) := object.union(object.union(object.union(base_metadata(chain), auto_remediation(chain)), absence(chain)), references(chain))

absence(chain) := {"absence_is_compliance": true} if {
	some entry in chain
	entry.annotations.scope == "package"
	entry.annotations.custom.absence_is_compliance == true
} else := {}

# `hint` (how to fix it, in words) and `seed` (the seed document and section that asks for it), for
# the rules that give them.
references(chain) := {k: v |
	some entry in chain
	entry.annotations.scope == "package"
	some k in ["hint", "seed"]
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
