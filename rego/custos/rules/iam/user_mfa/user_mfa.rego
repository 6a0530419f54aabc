# METADATA
# title: Console user without MFA
# description: "An IAM user who can sign in to the console (has a password) and has no MFA device."
# custom:
#   id: iam.user_mfa
#   scope: resource
#   reads: []
#   severity: high
#   controls: [CC6.1]
#   resource_types: [AWS::IAM::User]
#   hint: "Assign an MFA device to the user (aws iam enable-mfa-device), or remove the console password (aws iam delete-login-profile) if the user does not need it."
#   seed: "002 Phase 0 Identity and Access Management: Enable MFA for all IAM users"
#   absence_is_compliance: true
package custos.rules.iam.user_mfa

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some r in lib.resources("AWS::IAM::User")
	r.configuration.password_enabled == true
	not r.configuration.mfa_active == true
	msg := concat("", ["IAM user ", r.id, " of account ", r.account, " can sign in to the console without MFA"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
