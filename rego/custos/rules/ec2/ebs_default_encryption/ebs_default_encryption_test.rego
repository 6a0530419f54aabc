package custos.rules.ec2.ebs_default_encryption_test

import data.custos.rules.ec2.ebs_default_encryption

# The listing the verdicts rest on: complete where the resources were seen.
covered := {"AWS::EC2::RegionalSettings": {"111122223333": {"eu-west-1": true, "us-east-1": true}}}

settings(region, enabled) := {
	"type": "AWS::EC2::RegionalSettings",
	"id": sprintf("111122223333/%s", [region]),
	"account": "111122223333",
	"region": region,
	"configuration": {"ebs_encryption_by_default": enabled},
}

test_default_encryption_off_is_a_violation if {
	vs := ebs_default_encryption.violations with input as {"coverage": covered, "resources": [settings("eu-west-1", false), settings("us-east-1", true)]}
	count(vs) == 1
	some v in vs
	v.id == "ec2.ebs_default_encryption"
	v.severity == "high"
	v.controls == ["CC6.1", "C1.1"]
	v.resource == {"type": "AWS::EC2::RegionalSettings", "id": "111122223333/eu-west-1", "account": "111122223333", "region": "eu-west-1"}
	v.msg == "EBS encryption by default is off in regional settings 111122223333/eu-west-1"
	v.rule.remediation == "none"
}

test_unreported_setting_fails_closed if {
	unreported := object.union(object.remove(settings("eu-west-1", false), ["configuration"]), {"configuration": {}})
	vs := ebs_default_encryption.violations with input as {"coverage": covered, "resources": [unreported]}
	{v.msg | some v in vs} == {"EBS encryption by default is off in regional settings 111122223333/eu-west-1"}
}

test_enabled_settings_and_other_types_pass if {
	other := {"type": "AWS::EC2::Volume", "id": "vol-1", "account": "111122223333", "region": "eu-west-1", "configuration": {"ebs_encryption_by_default": false}}
	count(ebs_default_encryption.violations) == 0 with input as {"coverage": covered, "resources": [settings("eu-west-1", true), other]}
}

test_metadata_comes_from_the_annotations if {
	ebs_default_encryption.metadata == {
		"id": "ec2.ebs_default_encryption",
		"title": "EBS encryption by default is off",
		"description": "A region of an account where new EBS volumes and snapshot copies are not encrypted by default (or\nwhere the setting is not reported).\n",
		"severity": "high",
		"controls": ["CC6.1", "C1.1"],
		"resource_types": ["AWS::EC2::RegionalSettings"],
		"remediation": "none",
		"listing_scope": "region",
		"listed_types": ["AWS::EC2::RegionalSettings"],
		"scope": "resource",
		"reads": ["coverage"],
		"package": "custos.rules.ec2.ebs_default_encryption",
	}
}

test_not_listed_completely_is_no_verdict if {
	count(ebs_default_encryption.violations) == 0 with input as {"resources": [settings("eu-west-1", false)]}
	count(ebs_default_encryption.violations) == 0 with input as {"resources": [settings("eu-west-1", false)], "coverage": {"AWS::EC2::RegionalSettings": {"111122223333": {"eu-west-1": false}}}}
}
