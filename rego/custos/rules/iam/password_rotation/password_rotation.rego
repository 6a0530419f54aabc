# METADATA
# title: Password policy allows reuse or never expires
# description: "The account password policy does not prevent reuse of the last 24 passwords or lets passwords live longer than 90 days."
# custom:
#   id: iam.password_rotation
#   scope: resource
#   reads: [coverage]
#   severity: medium
#   controls: [CC6.1]
#   resource_types: [AWS::IAM::PasswordPolicy]
#   listing_scope: account
#   hint: "aws iam update-account-password-policy --password-reuse-prevention 24 --max-password-age 90 (keeping the length and complexity settings)."
#   seed: "002 Phase 0 Identity and Access Management: IAM password policy (14+ chars, complexity, 90-day rotation)"
package custos.rules.iam.password_rotation

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some r in lib.resources("AWS::IAM::PasswordPolicy")
	lib.listed_here(r)
	lib.has(r.configuration, "password_reuse_prevention")
	not object.get(r.configuration, "password_reuse_prevention", null) >= 24
	msg := concat("", ["password policy of account ", r.id, " does not prevent reuse of the last 24 passwords"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}

violations contains v if {
	some r in lib.resources("AWS::IAM::PasswordPolicy")
	lib.listed_here(r)
	lib.has(r.configuration, "max_password_age")
	not within_90_days(object.get(r.configuration, "max_password_age", null))
	msg := concat("", ["password policy of account ", r.id, " lets passwords live longer than 90 days"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}

within_90_days(age) if {
	age != null
	age <= 90
}
