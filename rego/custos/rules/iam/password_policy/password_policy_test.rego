package custos.rules.iam.password_policy_test

import data.custos.rules.iam.password_policy

# The listing the verdicts rest on: complete where the resources were seen.
covered := {"AWS::IAM::PasswordPolicy": {"111122223333": {"us-east-1": true}}}

strong := {
	"present": true,
	"minimum_password_length": 14,
	"require_symbols": true,
	"require_numbers": true,
	"require_uppercase_characters": true,
	"require_lowercase_characters": true,
}

policy(config) := {
	"type": "AWS::IAM::PasswordPolicy",
	"id": "111122223333",
	"account": "111122223333",
	"region": "us-east-1",
	"configuration": config,
}

resource := {"type": "AWS::IAM::PasswordPolicy", "id": "111122223333", "account": "111122223333", "region": "us-east-1"}

msgs(config) := {v.msg | some v in password_policy.violations with input as {"coverage": covered, "resources": [policy(config)]}}

test_missing_policy_is_a_violation if {
	absent := {"present": false, "minimum_password_length": 0, "require_symbols": false, "require_numbers": false, "require_uppercase_characters": false, "require_lowercase_characters": false}
	vs := password_policy.violations with input as {"coverage": covered, "resources": [policy(absent)]}
	count(vs) == 1
	some v in vs
	v.id == "iam.password_policy"
	v.severity == "medium"
	v.controls == ["CC6.1"]
	v.resource == resource
	v.msg == "account 111122223333 has no IAM password policy"
	v.rule.remediation == "none"
}

test_short_passwords_are_a_violation if {
	vs := password_policy.violations with input as {"coverage": covered, "resources": [policy(object.union(strong, {"minimum_password_length": 8}))]}
	count(vs) == 1
	some v in vs
	v.id == "iam.password_policy"
	v.severity == "medium"
	v.controls == ["CC6.1"]
	v.resource == resource
	v.msg == "IAM password policy of account 111122223333 is too weak: minimum length is 8, below 14"
}

test_thirteen_characters_is_one_short if {
	msgs(object.union(strong, {"minimum_password_length": 13})) == {"IAM password policy of account 111122223333 is too weak: minimum length is 13, below 14"}
}

test_each_missing_character_class_is_named if {
	msgs(object.union(strong, {"require_symbols": false})) == {"IAM password policy of account 111122223333 is too weak: symbols are not required"}
	msgs(object.union(strong, {"require_numbers": false})) == {"IAM password policy of account 111122223333 is too weak: numbers are not required"}
	msgs(object.union(strong, {"require_uppercase_characters": false})) == {"IAM password policy of account 111122223333 is too weak: uppercase letters are not required"}
	msgs(object.union(strong, {"require_lowercase_characters": false})) == {"IAM password policy of account 111122223333 is too weak: lowercase letters are not required"}
}

test_all_problems_are_named_in_one_violation if {
	weak := {"present": true, "minimum_password_length": 6, "require_symbols": false, "require_numbers": false, "require_uppercase_characters": false, "require_lowercase_characters": false}
	msgs(weak) == {concat("", [
		"IAM password policy of account 111122223333 is too weak: minimum length is 6, below 14; ",
		"symbols are not required; numbers are not required; uppercase letters are not required; lowercase letters are not required",
	])}
}

test_unreported_fields_fail_closed if {
	msgs({"present": true}) == {concat("", [
		"IAM password policy of account 111122223333 is too weak: minimum length is not reported (14 required); ",
		"symbols are not required; numbers are not required; uppercase letters are not required; lowercase letters are not required",
	])}
	msgs({}) == {"account 111122223333 has no IAM password policy"}
}

test_strong_policy_and_other_types_pass if {
	longer := object.union(strong, {"minimum_password_length": 32})
	other := {"type": "AWS::IAM::AccountSummary", "id": "444455556666", "account": "444455556666", "region": "us-east-1", "configuration": {"present": false}}
	count(password_policy.violations) == 0 with input as {"coverage": covered, "resources": [policy(strong), object.union(policy(longer), {"id": "444455556666"}), other]}
}

test_metadata_comes_from_the_annotations if {
	password_policy.metadata == {
		"id": "iam.password_policy",
		"title": "IAM password policy is missing or weak",
		"description": "An account with no IAM password policy, or one that allows passwords shorter than 14 characters or\ndoes not require symbols, numbers, uppercase and lowercase letters.\n",
		"severity": "medium",
		"controls": ["CC6.1"],
		"resource_types": ["AWS::IAM::PasswordPolicy"],
		"remediation": "none",
		"listing_scope": "account",
		"listed_types": ["AWS::IAM::PasswordPolicy"],
		"scope": "resource",
		"reads": ["coverage"],
		"package": "custos.rules.iam.password_policy",
	}
}

test_not_listed_completely_is_no_verdict if {
	count(password_policy.violations) == 0 with input as {"resources": [policy({"present": false})]}
	count(password_policy.violations) == 0 with input as {"resources": [policy({"present": false})], "coverage": {"AWS::IAM::PasswordPolicy": {"111122223333": {"us-east-1": false}}}}
}
