# METADATA
# title: Config recorder does not record all resource types
# description: "A region where the AWS Config recorder is missing, stopped, or does not record all supported types including global ones."
# custom:
#   id: config.recorder_all_types
#   scope: resource
#   reads: [coverage]
#   severity: high
#   controls: [CC7.1]
#   resource_types: [AWS::Config::ConfigurationRecorder]
#   listing_scope: region
#   hint: "aws configservice put-configuration-recorder with recordingGroup allSupported=true, includeGlobalResourceTypes=true (global types in one region), then start-configuration-recorder."
#   seed: "002 Phase 0 Security Baseline: Enable AWS Config with required configuration rules"
package custos.rules.config.recorder_all_types

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

problems(c) := [p | some p in ["no recorder", "not recording", "not all supported types", "no global types"]; failing(c, p)]

failing(c, "no recorder") if not c.recorder_present == true

failing(c, "not recording") if not c.recording == true

failing(c, "not all supported types") if not c.all_supported == true

failing(c, "no global types") if not c.include_global_resource_types == true

violations contains v if {
	some r in lib.resources("AWS::Config::ConfigurationRecorder")
	lib.listed_here(r)
	found := sort(problems(r.configuration))
	count(found) > 0
	msg := concat("", ["AWS Config recorder in account ", r.account, " region ", r.region, ": ", concat(", ", found)])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
