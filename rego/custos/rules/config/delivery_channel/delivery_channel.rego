# METADATA
# title: Config delivery channel missing or failing
# description: "A region where AWS Config has no delivery channel, or its last delivery did not succeed."
# custom:
#   id: config.delivery_channel
#   scope: resource
#   reads: [coverage]
#   severity: medium
#   controls: [CC7.1]
#   resource_types: [AWS::Config::ConfigurationRecorder]
#   listing_scope: region
#   hint: "aws configservice put-delivery-channel to an S3 bucket Config may write to; check the bucket policy and KMS key if deliveries fail."
#   seed: "002 Phase 0 Security Baseline: Enable AWS Config; 004 Config bucket"
package custos.rules.config.delivery_channel

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some r in lib.resources("AWS::Config::ConfigurationRecorder")
	lib.listed_here(r)
	not r.configuration.delivery_channel_present == true
	msg := concat("", ["AWS Config in account ", r.account, " region ", r.region, " has no delivery channel"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}

violations contains v if {
	some r in lib.resources("AWS::Config::ConfigurationRecorder")
	lib.listed_here(r)
	r.configuration.delivery_channel_present == true
	not delivered(r.configuration)
	msg := concat("", ["AWS Config delivery channel in account ", r.account, " region ", r.region, " last delivery: ", status_text(r.configuration.last_delivery_status)])
	v := lib.violation(rego.metadata.chain(), r, msg)
}

# Config answers Success, Failure or Not_Applicable.
delivered(c) if {
	is_string(c.last_delivery_status)
	lower(c.last_delivery_status) == "success"
}

status_text(s) := s if {
	is_string(s)
} else := "none"
