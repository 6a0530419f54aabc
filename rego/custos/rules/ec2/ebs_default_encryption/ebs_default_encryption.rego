# METADATA
# title: EBS encryption by default is off
# description: |
#   A region of an account where new EBS volumes and snapshot copies are not encrypted by default (or
#   where the setting is not reported).
# custom:
#   id: ec2.ebs_default_encryption
#   scope: resource
#   reads: [coverage]
#   severity: high
#   controls: [CC6.1, C1.1]
#   resource_types: [AWS::EC2::RegionalSettings]
#   listing_scope: region
package custos.rules.ec2.ebs_default_encryption

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some settings in lib.resources("AWS::EC2::RegionalSettings")
	lib.listed_here(settings)
	not settings.configuration.ebs_encryption_by_default == true
	msg := sprintf("EBS encryption by default is off in regional settings %s", [settings.id])
	v := lib.violation(rego.metadata.chain(), settings, msg)
}
