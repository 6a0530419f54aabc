# METADATA
# title: EBS volume is not encrypted
# description: An EBS volume that is not encrypted at rest (or whose encryption is not reported).
# custom:
#   id: ec2.volume_encrypted
#   scope: resource
#   reads: []
#   severity: high
#   controls: [CC6.1, C1.1]
#   resource_types: [AWS::EC2::Volume]
package custos.rules.ec2.volume_encrypted

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some volume in lib.resources("AWS::EC2::Volume")
	not volume.configuration.encrypted == true
	v := lib.violation(rego.metadata.chain(), volume, sprintf("volume %s is not encrypted", [volume.id]))
}
