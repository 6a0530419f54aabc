# METADATA
# title: Access key not rotated within 90 days
# description: "An active IAM access key created (last rotated) more than 90 days ago."
# custom:
#   id: iam.access_key_rotation
#   scope: resource
#   reads: []
#   severity: medium
#   controls: [CC6.1]
#   resource_types: [AWS::IAM::User]
#   hint: "Create a new access key, move its users to it, deactivate and then delete the old one (aws iam create-access-key / update-access-key / delete-access-key)."
#   seed: "002 Phase 0 Identity and Access Management: 90-day rotation"
#   absence_is_compliance: true
package custos.rules.iam.access_key_rotation

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

# Once 90 days have passed since the key's last rotation (violates_after); at once when it was never
# rotated (unknown: fail closed).
violations contains v if {
	some r in lib.resources("AWS::IAM::User")
	some i, key in r.configuration.access_keys
	key.active == true
	msg := concat("", ["access key ", format_int(i + 1, 10), " of IAM user ", r.id, " was not rotated within 90 days"])
	v := rotation_violation(rego.metadata.chain(), r, msg, object.get(key, "last_rotated", null))
}

rotation_violation(chain, r, msg, rotated) := lib.violation_after(chain, r, msg, rotated + lib.days(90)) if rotated != null

rotation_violation(chain, r, msg, null) := lib.violation(chain, r, msg)
