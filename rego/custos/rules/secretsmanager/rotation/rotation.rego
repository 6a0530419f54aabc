# METADATA
# title: Secret without rotation
# description: "A Secrets Manager secret whose automatic rotation is off."
# custom:
#   id: secretsmanager.rotation
#   scope: resource
#   reads: []
#   severity: medium
#   controls: [CC6.1]
#   resource_types: [AWS::SecretsManager::Secret]
#   hint: "aws secretsmanager rotate-secret --secret-id <secret> --rotation-lambda-arn <function> --rotation-rules AutomaticallyAfterDays=90 (or a managed rotation)."
#   seed: "002 Phase 7 Data Security: Rotate API keys automatically; configure secret rotation"
#   absence_is_compliance: true
package custos.rules.secretsmanager.rotation

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some r in lib.resources("AWS::SecretsManager::Secret")
	not r.configuration.rotation_enabled == true
	msg := concat("", ["secret ", r.id, " has no automatic rotation"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
