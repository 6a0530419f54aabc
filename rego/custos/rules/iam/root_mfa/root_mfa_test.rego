package custos.rules.iam.root_mfa_test

import data.custos.rules.iam.root_mfa

# The listing the verdicts rest on: complete where the resources were seen.
covered := {"AWS::IAM::AccountSummary": {"111122223333": {"us-east-1": true}}}

summary(account, config) := {
	"type": "AWS::IAM::AccountSummary",
	"id": account,
	"account": account,
	"region": "us-east-1",
	"configuration": config,
}

test_root_without_mfa_is_a_violation if {
	vs := root_mfa.violations with input as {"coverage": covered, "resources": [summary("111122223333", {"account_mfa_enabled": false})]}
	count(vs) == 1
	some v in vs
	v.id == "iam.root_mfa"
	v.severity == "critical"
	v.controls == ["CC6.1"]
	v.resource == {"type": "AWS::IAM::AccountSummary", "id": "111122223333", "account": "111122223333", "region": "us-east-1"}
	v.msg == "root user of account 111122223333 does not have MFA enabled"
	v.rule.remediation == "none"
}

test_unreported_mfa_fails_closed if {
	vs := root_mfa.violations with input as {"coverage": covered, "resources": [summary("111122223333", {})]}
	{v.msg | some v in vs} == {"root user of account 111122223333 does not have MFA enabled"}
}

test_root_with_mfa_and_other_types_pass if {
	other := {"type": "AWS::IAM::PasswordPolicy", "id": "444455556666", "account": "444455556666", "region": "us-east-1", "configuration": {"account_mfa_enabled": false}}
	count(root_mfa.violations) == 0 with input as {"coverage": covered, "resources": [summary("111122223333", {"account_mfa_enabled": true}), other]}
}

test_metadata_comes_from_the_annotations if {
	root_mfa.metadata == {
		"id": "iam.root_mfa",
		"title": "Root user has no MFA",
		"description": "An account whose root user does not have MFA enabled (or whose MFA status is not reported).",
		"severity": "critical",
		"controls": ["CC6.1"],
		"resource_types": ["AWS::IAM::AccountSummary"],
		"remediation": "none",
		"listing_scope": "account",
		"listed_types": ["AWS::IAM::AccountSummary"],
		"scope": "resource",
		"reads": ["coverage"],
		"package": "custos.rules.iam.root_mfa",
	}
}

test_not_listed_completely_is_no_verdict if {
	count(root_mfa.violations) == 0 with input as {"resources": [summary("111122223333", {"account_mfa_enabled": false})]}
	count(root_mfa.violations) == 0 with input as {"resources": [summary("111122223333", {"account_mfa_enabled": false})], "coverage": {"AWS::IAM::AccountSummary": {"111122223333": {"us-east-1": false}}}}
}
