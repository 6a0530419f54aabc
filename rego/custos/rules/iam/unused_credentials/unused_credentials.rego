# METADATA
# title: Credentials unused for 90 days
# description: "An IAM user's console password or active access key not used for more than 90 days (never used: counted from creation or rotation)."
# custom:
#   id: iam.unused_credentials
#   scope: resource
#   reads: []
#   severity: medium
#   controls: [CC6.1, CC6.2]
#   resource_types: [AWS::IAM::User]
#   hint: "Remove the unused password (aws iam delete-login-profile) or deactivate and delete the unused key; a user who needs neither should be removed."
#   seed: "002 Phase 0 Identity and Access Management: least-privilege IAM (CIS 1.12: credentials unused for 45/90 days disabled)"
#   absence_is_compliance: true
package custos.rules.iam.unused_credentials

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some r in lib.resources("AWS::IAM::User")
	r.configuration.password_enabled == true
	msg := concat("", ["console password of IAM user ", r.id, " not used for 90 days"])
	v := stale(rego.metadata.chain(), r, msg, object.get(r.configuration, "password_last_used", null), object.get(r.configuration, "created", null))
}

violations contains v if {
	some r in lib.resources("AWS::IAM::User")
	some i, key in r.configuration.access_keys
	key.active == true
	msg := concat("", ["access key ", format_int(i + 1, 10), " of IAM user ", r.id, " not used for 90 days"])
	v := stale(rego.metadata.chain(), r, msg, key.last_used, key.last_rotated)
}

# Stale once 90 days have passed since the last use (violates_after); never used: since the fallback
# time (creation, rotation); both unknown: stale at once (fail closed).
stale(chain, r, msg, used, _) := lib.violation_after(chain, r, msg, used + lib.days(90)) if used != null

stale(chain, r, msg, null, since) := lib.violation_after(chain, r, msg, since + lib.days(90)) if since != null

stale(chain, r, msg, null, null) := lib.violation(chain, r, msg)
