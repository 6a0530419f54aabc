# METADATA
# title: Access key not rotated within 90 days
# description: "An active IAM access key created (last rotated) more than 90 days ago."
# custom:
#   id: iam.access_key_rotation
#   scope: resource
#   reads: [now]
#   severity: medium
#   controls: [CC6.1]
#   resource_types: [AWS::IAM::User]
#   hint: "Create a new access key, move its users to it, deactivate and then delete the old one (aws iam create-access-key / update-access-key / delete-access-key)."
#   seed: "002 Phase 0 Identity and Access Management: 90-day rotation"
#   absence_is_compliance: true
package custos.rules.iam.access_key_rotation

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some r in lib.resources("AWS::IAM::User")
	some i, key in r.configuration.access_keys
	key.active == true
	not rotated_recently(key)
	msg := concat("", ["access key ", format_int(i + 1, 10), " of IAM user ", r.id, " was not rotated within 90 days"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}

rotated_recently(key) if {
	key.last_rotated != null
	input.now - key.last_rotated <= lib.days(90)
}
