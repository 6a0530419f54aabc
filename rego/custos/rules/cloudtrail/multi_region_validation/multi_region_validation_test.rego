package custos.rules.cloudtrail.multi_region_validation_test

import data.custos.rules.cloudtrail.multi_region_validation

trail(account, id, multi_region, validation, logging) := {
	"type": "AWS::CloudTrail::Trail",
	"id": id,
	"account": account,
	"region": "us-east-1",
	"configuration": {"is_multi_region_trail": multi_region, "log_file_validation_enabled": validation, "is_logging": logging},
}

bucket(account) := {
	"type": "AWS::S3::Bucket",
	"id": sprintf("logs-%s", [account]),
	"account": account,
	"region": "us-east-1",
	"configuration": {},
}

account_resource(account) := {"type": "AWS::::Account", "id": account, "account": account, "region": ""}

# Trails and buckets listed completely in us-east-1 of each account.
listed(accounts) := {
	"AWS::CloudTrail::Trail": {account: {"us-east-1": true} | some account in accounts},
	"AWS::S3::Bucket": {account: {"us-east-1": true} | some account in accounts},
}

test_account_without_trails_is_a_violation if {
	vs := multi_region_validation.violations with input as {"resources": [bucket("111122223333")], "coverage": listed(["111122223333"])}
	count(vs) == 1
	some v in vs
	v.id == "cloudtrail.multi_region_validation"
	v.severity == "high"
	v.controls == ["CC7.2", "CC7.3"]
	v.resource == account_resource("111122223333")
	v.msg == "account 111122223333 has no CloudTrail trail (trails listed completely in us-east-1)"
	v.rule.remediation == "none"
}

test_trails_never_listed_is_no_verdict if {
	# The bucket was seen, CloudTrail was not among what the run listed: nothing is known of trails.
	coverage := {"AWS::S3::Bucket": {"111122223333": {"us-east-1": true}}}
	count(multi_region_validation.violations) == 0 with input as {"resources": [bucket("111122223333")], "coverage": coverage}
	count(multi_region_validation.violations) == 0 with input as {"resources": [bucket("111122223333")]}
}

test_trails_listed_incompletely_is_no_verdict if {
	coverage := {"AWS::CloudTrail::Trail": {"111122223333": {"us-east-1": false}}, "AWS::S3::Bucket": {"111122223333": {"us-east-1": true}}}
	count(multi_region_validation.violations) == 0 with input as {"resources": [bucket("111122223333")], "coverage": coverage}
}

test_a_covered_region_without_a_trail_listing_is_no_verdict if {
	# A trail homed in eu-west-1 would be reported only from there, and trails were not listed there.
	coverage := {
		"AWS::CloudTrail::Trail": {"111122223333": {"us-east-1": true}},
		"AWS::S3::Bucket": {"111122223333": {"us-east-1": true, "eu-west-1": true}},
	}
	count(multi_region_validation.violations) == 0 with input as {"resources": [bucket("111122223333")], "coverage": coverage}
	with_trails := object.union(coverage, {"AWS::CloudTrail::Trail": {"111122223333": {"us-east-1": true, "eu-west-1": true}}})
	{v.msg | some v in multi_region_validation.violations} == {"account 111122223333 has no CloudTrail trail (trails listed completely in eu-west-1, us-east-1)"} with input as {"resources": [bucket("111122223333")], "coverage": with_trails}
}

test_listed_completely_with_no_resource_at_all_is_a_violation if {
	# An account whose every listing was complete and empty has no trail: absence over a complete listing.
	coverage := {"AWS::CloudTrail::Trail": {"444455556666": {"us-east-1": true}}}
	{v.msg | some v in multi_region_validation.violations} == {"account 444455556666 has no CloudTrail trail (trails listed completely in us-east-1)"} with input as {"resources": [], "coverage": coverage}
}

test_trail_missing_one_property_is_named if {
	resources := [bucket("111122223333"), trail("111122223333", "org-audit", true, false, true)]
	vs := multi_region_validation.violations with input as {"resources": resources, "coverage": listed(["111122223333"])}
	count(vs) == 1
	some v in vs
	v.id == "cloudtrail.multi_region_validation"
	v.severity == "high"
	v.controls == ["CC7.2", "CC7.3"]
	v.resource == account_resource("111122223333")
	v.msg == "account 111122223333 has no CloudTrail trail that is multi-region, validates log files and is logging: trail org-audit does not validate log files"
}

test_a_trail_seen_where_trails_were_not_listed_completely_is_no_verdict if {
	# Another region's listing failed: a compliant trail may be homed there.
	coverage := {"AWS::CloudTrail::Trail": {"111122223333": {"us-east-1": true, "eu-west-1": false}}}
	resources := [trail("111122223333", "org-audit", true, false, true)]
	count(multi_region_validation.violations) == 0 with input as {"resources": resources, "coverage": coverage}
}

test_every_trail_and_its_shortfalls_are_named if {
	resources := [
		trail("111122223333", "zz-regional", false, true, true),
		trail("111122223333", "aa-stopped", true, false, false),
		trail("111122223333", "mm-bare", false, false, false),
	]
	vs := multi_region_validation.violations with input as {"resources": resources, "coverage": listed(["111122223333"])}
	{v.msg | some v in vs} == {concat("", [
		"account 111122223333 has no CloudTrail trail that is multi-region, validates log files and is logging: ",
		"trail aa-stopped does not validate log files, is not logging; ",
		"trail mm-bare is not multi-region, does not validate log files, is not logging; ",
		"trail zz-regional is not multi-region",
	])}
}

test_unreported_trail_properties_fail_closed if {
	unreported := {"type": "AWS::CloudTrail::Trail", "id": "main", "account": "111122223333", "region": "us-east-1", "configuration": {"is_logging": true}}
	vs := multi_region_validation.violations with input as {"resources": [unreported], "coverage": listed(["111122223333"])}
	{v.msg | some v in vs} == {"account 111122223333 has no CloudTrail trail that is multi-region, validates log files and is logging: trail main is not multi-region, does not validate log files"}
}

test_one_good_trail_covers_the_account if {
	resources := [
		bucket("111122223333"),
		trail("111122223333", "regional", false, false, true),
		trail("111122223333", "org-audit", true, true, true),
	]
	count(multi_region_validation.violations) == 0 with input as {"resources": resources, "coverage": listed(["111122223333"])}
}

test_each_account_needs_its_own_trail if {
	resources := [
		bucket("111122223333"),
		bucket("444455556666"),
		bucket("777788889999"),
		trail("111122223333", "org-audit", true, true, true),
		trail("777788889999", "local", true, true, false),
	]
	vs := multi_region_validation.violations with input as {"resources": resources, "coverage": listed(["111122223333", "444455556666", "777788889999"])}
	count(vs) == 2
	{[v.resource, v.msg] | some v in vs} == {
		[account_resource("444455556666"), "account 444455556666 has no CloudTrail trail (trails listed completely in us-east-1)"],
		[account_resource("777788889999"), "account 777788889999 has no CloudTrail trail that is multi-region, validates log files and is logging: trail local is not logging"],
	}
}

test_no_resources_means_no_accounts_to_judge if {
	count(multi_region_validation.violations) == 0 with input as {"resources": []}
}

test_metadata_comes_from_the_annotations if {
	multi_region_validation.metadata == {
		"id": "cloudtrail.multi_region_validation",
		"title": "Account has no multi-region, validated, logging CloudTrail trail",
		"description": "Every account the run covered needs at least one CloudTrail trail of its own that is\nmulti-region, has log file validation enabled and is logging. Judged only for accounts whose\ntrails were listed completely in every region of the account the run covered (a trail is\nreported from its home region, so an unlisted region may hold it): elsewhere the rule says\nnothing and is not tested. The violation is about the account, not about a trail.\n",
		"severity": "high",
		"controls": ["CC7.2", "CC7.3"],
		"resource_types": ["AWS::CloudTrail::Trail"],
		"remediation": "none",
		"listing_scope": "account_regions",
		"listed_types": ["AWS::CloudTrail::Trail"],
		"scope": "account",
		"item_types": ["AWS::CloudTrail::Trail"],
		"reads": ["coverage"],
		"package": "custos.rules.cloudtrail.multi_region_validation",
	}
}
