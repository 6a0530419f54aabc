package custos.rules.kms.key_rotation_test

import data.custos.rules.kms.key_rotation

key(id, manager, state, rotation) := {
	"type": "AWS::KMS::Key",
	"id": id,
	"account": "111122223333",
	"region": "us-east-1",
	"configuration": {"key_manager": manager, "key_state": state, "key_rotation_enabled": rotation},
}

test_unrotated_customer_key_is_a_violation if {
	vs := key_rotation.violations with input as {"resources": [key("1234abcd-12ab-34cd-56ef-1234567890ab", "CUSTOMER", "Enabled", false)]}
	count(vs) == 1
	some v in vs
	v.id == "kms.key_rotation"
	v.severity == "medium"
	v.controls == ["CC6.1"]
	v.resource == {"type": "AWS::KMS::Key", "id": "1234abcd-12ab-34cd-56ef-1234567890ab", "account": "111122223333", "region": "us-east-1"}
	v.msg == "customer-managed key 1234abcd-12ab-34cd-56ef-1234567890ab does not have automatic rotation enabled"
	v.rule.remediation == "none"
}

test_unreported_rotation_fails_closed if {
	unreported := {"type": "AWS::KMS::Key", "id": "k1", "account": "111122223333", "region": "us-east-1", "configuration": {"key_manager": "CUSTOMER", "key_state": "Enabled"}}
	vs := key_rotation.violations with input as {"resources": [unreported]}
	{v.msg | some v in vs} == {"customer-managed key k1 does not have automatic rotation enabled"}
}

test_rotated_aws_managed_and_inactive_keys_pass if {
	resources := [
		key("rotated", "CUSTOMER", "Enabled", true),
		key("aws-managed", "AWS", "Enabled", false),
		key("disabled", "CUSTOMER", "Disabled", false),
		key("pending-deletion", "CUSTOMER", "PendingDeletion", false),
		key("pending-import", "CUSTOMER", "PendingImport", false),
		{"type": "AWS::S3::Bucket", "id": "b", "account": "111122223333", "region": "us-east-1", "configuration": {"key_manager": "CUSTOMER", "key_state": "Enabled", "key_rotation_enabled": false}},
	]
	count(key_rotation.violations) == 0 with input as {"resources": resources}
}

test_metadata_comes_from_the_annotations if {
	key_rotation.metadata == {
		"id": "kms.key_rotation",
		"title": "KMS key rotation is not enabled",
		"description": "An enabled customer-managed KMS key without automatic key rotation. AWS-managed keys (rotated by\nAWS) and keys that are not Enabled (disabled, pending deletion or import) pass.\n",
		"severity": "medium",
		"controls": ["CC6.1"],
		"resource_types": ["AWS::KMS::Key"],
		"remediation": "none",
		"scope": "resource",
		"reads": [],
		"package": "custos.rules.kms.key_rotation",
	}
}
