package custos.rules.catalog.retention_lifecycle_test

import data.custos.rules.catalog.retention_lifecycle

# The demo catalog's S3 document stores (seed 001 §2), kept 10 years (document-data, 3653 days).
documents := {
	"store": "s3", "database": "wealth-client-documents", "table": "client-documents/",
	"classification": "confidential", "domain": "Document Management",
	"location": "s3://wealth-client-documents/client-documents/",
	"retention_policy": "document-data", "retention_days": 3653,
	"columns": [{"name": "object_key", "classification": "internal", "pii_type": null, "masking_rule": null}],
}

statements := object.union(documents, {
	"database": "wealth-account-statements", "table": "statements/", "domain": "Account",
	"location": "s3://wealth-account-statements/statements/",
})

lifecycle_rule(id, prefix, expiration_days) := {"id": id, "enabled": true, "prefix": prefix, "expiration_days": expiration_days}

bucket(name, rules) := {
	"type": "AWS::S3::Bucket",
	"id": name,
	"account": "111122223333",
	"region": "us-east-1",
	"configuration": {"acl_grants": [], "policy_statements": [], "public_access_block": null, "lifecycle_rules": rules},
}

evaluate(assets, resources) := vs if {
	vs := retention_lifecycle.violations with input as {"resources": resources, "catalog": {"assets": assets, "approved_grants": []}}
}

test_lifecycle_rule_expiring_before_retention_is_a_violation if {
	vs := evaluate([documents], [bucket("wealth-client-documents", [lifecycle_rule("expire-documents", "client-documents/", 365)])])
	count(vs) == 1
	some v in vs
	v.id == "catalog.retention_lifecycle"
	v.severity == "high"
	v.controls == ["C1.2", "A1.2"]
	v.resource == {"type": "AWS::S3::Bucket", "id": "wealth-client-documents", "account": "111122223333", "region": "us-east-1"}
	v.msg == "lifecycle rule expire-documents of bucket wealth-client-documents expires objects after 365 days, but asset s3/wealth-client-documents/client-documents/ must be kept 3653 days"
	v.rule.remediation == "none"
}

test_overlapping_prefixes_in_either_direction_count if {
	rules := [
		lifecycle_rule("whole-bucket", "", 30),
		lifecycle_rule("shorter", "client-", 90),
		lifecycle_rule("longer", "client-documents/2019/", 180),
		lifecycle_rule("elsewhere", "tmp/", 1),
	]
	vs := evaluate([documents], [bucket("wealth-client-documents", rules)])
	{v.msg | some v in vs} == {
		"lifecycle rule whole-bucket of bucket wealth-client-documents expires objects after 30 days, but asset s3/wealth-client-documents/client-documents/ must be kept 3653 days",
		"lifecycle rule shorter of bucket wealth-client-documents expires objects after 90 days, but asset s3/wealth-client-documents/client-documents/ must be kept 3653 days",
		"lifecycle rule longer of bucket wealth-client-documents expires objects after 180 days, but asset s3/wealth-client-documents/client-documents/ must be kept 3653 days",
	}
}

test_an_asset_on_a_whole_bucket_overlaps_every_rule if {
	whole := object.union(documents, {"table": "all", "location": "s3://wealth-client-documents"})
	whole_slash := object.union(documents, {"table": "all-slash", "location": "s3://wealth-client-documents/"})
	vs := evaluate([whole, whole_slash], [bucket("wealth-client-documents", [lifecycle_rule("tmp", "tmp/", 7)])])
	{v.msg | some v in vs} == {
		"lifecycle rule tmp of bucket wealth-client-documents expires objects after 7 days, but asset s3/wealth-client-documents/all must be kept 3653 days",
		"lifecycle rule tmp of bucket wealth-client-documents expires objects after 7 days, but asset s3/wealth-client-documents/all-slash must be kept 3653 days",
	}
}

test_each_asset_is_matched_to_its_own_bucket if {
	resources := [
		bucket("wealth-client-documents", [lifecycle_rule("keep", "", 3653)]),
		bucket("wealth-account-statements", [lifecycle_rule("expire-statements", "statements/", 2557)]),
	]
	vs := evaluate([documents, statements], resources)
	{[v.resource.id, v.msg] | some v in vs} == {[
		"wealth-account-statements",
		"lifecycle rule expire-statements of bucket wealth-account-statements expires objects after 2557 days, but asset s3/wealth-account-statements/statements/ must be kept 3653 days",
	]}
}

test_disabled_non_overlapping_null_and_long_enough_rules_pass if {
	rules := [
		object.union(lifecycle_rule("disabled", "client-documents/", 30), {"enabled": false}),
		lifecycle_rule("other-prefix", "statements/", 30),
		lifecycle_rule("sibling-prefix", "client-documents-archive/", 30),
		lifecycle_rule("transitions-only", "", null),
		lifecycle_rule("exactly-retention", "client-documents/", 3653),
		lifecycle_rule("beyond-retention", "", 4000),
	]
	count(evaluate([documents], [bucket("wealth-client-documents", rules)])) == 0
}

test_assets_not_on_s3_or_without_retention_pass if {
	short := [lifecycle_rule("expire-all", "", 1)]
	assets := [
		object.union(documents, {"store": "aurora", "location": null}),
		object.remove(documents, ["location"]),
		object.union(documents, {"location": "jdbc:postgresql://aurora.wealth.internal/wealth"}),
		object.union(documents, {"location": "s3:///client-documents/"}),
		object.union(documents, {"retention_policy": null, "retention_days": null}),
	]
	count(evaluate(assets, [bucket("wealth-client-documents", short)])) == 0
}

test_buckets_not_collected_or_of_other_types_pass if {
	short := [lifecycle_rule("expire-all", "", 1)]
	not_a_bucket := object.union(bucket("wealth-client-documents", short), {"type": "AWS::S3::AccessPoint"})
	count(evaluate([documents], [bucket("another-bucket", short), not_a_bucket])) == 0
}

test_s3_location_parsing if {
	retention_lifecycle.s3_location("s3://wealth-client-documents/client-documents/2024/") == ["wealth-client-documents", "client-documents/2024/"]
	retention_lifecycle.s3_location("s3://wealth-client-documents") == ["wealth-client-documents", ""]
	not retention_lifecycle.s3_location("https://wealth-client-documents.s3.amazonaws.com/x")
}

test_metadata_comes_from_the_annotations if {
	retention_lifecycle.metadata == {
		"id": "catalog.retention_lifecycle",
		"title": "S3 lifecycle rule expires data before its retention period",
		"description": "An enabled lifecycle rule of the S3 bucket holding a catalogued asset, on a prefix overlapping\nthe asset's location, that expires objects sooner than the asset's retention policy requires\nthem kept (seed 001 §5.3).\n",
		"severity": "high",
		"controls": ["C1.2", "A1.2"],
		"resource_types": ["AWS::S3::Bucket"],
		"remediation": "none",
		"scope": "resource",
		"reads": ["catalog"],
		"package": "custos.rules.catalog.retention_lifecycle",
	}
}
