# METADATA
# title: S3 lifecycle rule expires data before its retention period
# description: |
#   An enabled lifecycle rule of the S3 bucket holding a catalogued asset, on a prefix overlapping
#   the asset's location, that expires objects sooner than the asset's retention policy requires
#   them kept (seed 001 §5.3).
# custom:
#   id: catalog.retention_lifecycle
#   scope: resource
#   reads: [catalog]
#   severity: high
#   controls: [C1.2, A1.2]
#   resource_types: [AWS::S3::Bucket]
#   remediation: none
package custos.rules.catalog.retention_lifecycle

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

# "s3://<bucket>/<prefix>" as [bucket, prefix]; the prefix may be empty.
s3_location(location) := [bucket, prefix] if {
	startswith(location, "s3://")
	path := substring(location, 5, -1)
	slash := indexof(path, "/")
	bucket := split_bucket(path, slash)
	bucket != ""
	prefix := split_prefix(path, slash)
}

split_bucket(path, slash) := path if slash == -1

split_bucket(path, slash) := substring(path, 0, slash) if slash != -1

split_prefix(_, slash) := "" if slash == -1

split_prefix(path, slash) := substring(path, slash + 1, -1) if slash != -1

# Catalogued assets with a retention period stored on S3, by bucket name.
s3_assets contains [bucket, prefix, asset] if {
	some asset in input.catalog.assets
	object.get(asset, "retention_days", null) != null
	location := object.get(asset, "location", null)
	location != null
	[bucket, prefix] := s3_location(location)
}

assets_by_bucket := {bucket: [[prefix, asset] | some [b, prefix, asset] in s3_assets; b == bucket] |
	some [bucket, _, _] in s3_assets
}

# Two prefixes select common objects when one is a prefix of the other ("" selects everything).
overlaps(a, b) if startswith(a, b)

overlaps(a, b) if startswith(b, a)

violations contains v if {
	some bucket in lib.resources("AWS::S3::Bucket")
	some [prefix, asset] in assets_by_bucket[bucket.id]
	some rule in bucket.configuration.lifecycle_rules
	rule.enabled == true
	rule.expiration_days != null
	rule.expiration_days < asset.retention_days
	overlaps(rule.prefix, prefix)
	msg := sprintf("lifecycle rule %s of bucket %s expires objects after %d days, but asset %s/%s/%s must be kept %d days", [rule.id, bucket.id, rule.expiration_days, asset.store, asset.database, asset.table, asset.retention_days])
	v := lib.violation(rego.metadata.chain(), bucket, msg)
}
