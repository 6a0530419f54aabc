package custos.rules.ec2.volume_encrypted_test

import data.custos.rules.ec2.volume_encrypted

volume(id, config) := {
	"type": "AWS::EC2::Volume",
	"id": id,
	"account": "111122223333",
	"region": "us-east-1",
	"configuration": config,
}

test_unencrypted_volume_is_a_violation if {
	vs := volume_encrypted.violations with input as {"resources": [volume("vol-0abc", {"encrypted": false, "state": "in-use"})]}
	count(vs) == 1
	some v in vs
	v.id == "ec2.volume_encrypted"
	v.severity == "high"
	v.controls == ["CC6.1", "C1.1"]
	v.resource == {"type": "AWS::EC2::Volume", "id": "vol-0abc", "account": "111122223333", "region": "us-east-1"}
	v.msg == "volume vol-0abc is not encrypted"
	v.rule.remediation == "none"
}

test_each_unencrypted_volume_is_a_violation if {
	resources := [
		volume("vol-1", {"encrypted": false, "state": "available"}),
		volume("vol-2", {"state": "in-use"}),
		volume("vol-3", {"encrypted": true, "state": "in-use"}),
	]
	vs := volume_encrypted.violations with input as {"resources": resources}
	{v.msg | some v in vs} == {"volume vol-1 is not encrypted", "volume vol-2 is not encrypted"}
}

test_encrypted_volume_and_other_types_pass if {
	other := {"type": "AWS::EC2::RegionalSettings", "id": "111122223333", "account": "111122223333", "region": "us-east-1", "configuration": {"encrypted": false}}
	count(volume_encrypted.violations) == 0 with input as {"resources": [volume("vol-0abc", {"encrypted": true, "state": "in-use"}), other]}
}

test_metadata_comes_from_the_annotations if {
	volume_encrypted.metadata == {
		"id": "ec2.volume_encrypted",
		"title": "EBS volume is not encrypted",
		"description": "An EBS volume that is not encrypted at rest (or whose encryption is not reported).",
		"severity": "high",
		"controls": ["CC6.1", "C1.1"],
		"resource_types": ["AWS::EC2::Volume"],
		"remediation": "none",
		"scope": "resource",
		"reads": [],
		"package": "custos.rules.ec2.volume_encrypted",
	}
}
