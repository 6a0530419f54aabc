# METADATA
# title: KMS key rotation is not enabled
# description: |
#   An enabled customer-managed KMS key without automatic key rotation. AWS-managed keys (rotated by
#   AWS) and keys that are not Enabled (disabled, pending deletion or import) pass.
# custom:
#   id: kms.key_rotation
#   scope: resource
#   reads: []
#   severity: medium
#   controls: [CC6.1]
#   resource_types: [AWS::KMS::Key]
package custos.rules.kms.key_rotation

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some key in lib.resources("AWS::KMS::Key")
	key.configuration.key_manager == "CUSTOMER"
	key.configuration.key_state == "Enabled"
	not key.configuration.key_rotation_enabled == true
	msg := sprintf("customer-managed key %s does not have automatic rotation enabled", [key.id])
	v := lib.violation(rego.metadata.chain(), key, msg)
}
