# METADATA
# title: IAM password policy is missing or weak
# description: |
#   An account with no IAM password policy, or one that allows passwords shorter than 14 characters or
#   does not require symbols, numbers, uppercase and lowercase letters.
# custom:
#   id: iam.password_policy
#   scope: resource
#   reads: [coverage]
#   severity: medium
#   controls: [CC6.1]
#   resource_types: [AWS::IAM::PasswordPolicy]
#   listing_scope: account
package custos.rules.iam.password_policy

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

minimum_length := 14

# Each required character class, in the order a message names them.
character_classes := [
	["require_symbols", "symbols"],
	["require_numbers", "numbers"],
	["require_uppercase_characters", "uppercase letters"],
	["require_lowercase_characters", "lowercase letters"],
]

length_problems(config) := [] if {
	is_number(config.minimum_password_length)
	config.minimum_password_length >= minimum_length
} else := [sprintf("minimum length is %d, below %d", [config.minimum_password_length, minimum_length])] if {
	is_number(config.minimum_password_length)
} else := [sprintf("minimum length is not reported (%d required)", [minimum_length])]

class_problems(config) := [sprintf("%s are not required", [name]) |
	some [field, name] in character_classes
	not config[field] == true
]

problems(config) := array.concat(length_problems(config), class_problems(config))

violations contains v if {
	some policy in lib.resources("AWS::IAM::PasswordPolicy")
	lib.listed_here(policy)
	not policy.configuration.present == true
	v := lib.violation(rego.metadata.chain(), policy, sprintf("account %s has no IAM password policy", [policy.id]))
}

violations contains v if {
	some policy in lib.resources("AWS::IAM::PasswordPolicy")
	lib.listed_here(policy)
	policy.configuration.present == true
	found := problems(policy.configuration)
	count(found) > 0
	msg := sprintf("IAM password policy of account %s is too weak: %s", [policy.id, concat("; ", found)])
	v := lib.violation(rego.metadata.chain(), policy, msg)
}
