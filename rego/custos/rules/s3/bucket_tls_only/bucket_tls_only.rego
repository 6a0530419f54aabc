# METADATA
# title: Bucket accepts requests without TLS
# description: "A bucket whose policy does not deny all S3 actions to everyone when aws:SecureTransport is false."
# custom:
#   id: s3.bucket_tls_only
#   scope: resource
#   reads: []
#   severity: medium
#   controls: [CC6.7]
#   resource_types: [AWS::S3::Bucket]
#   hint: "Add to the bucket policy: Effect Deny, Principal *, Action s3:*, Resource the bucket and its objects, Condition Bool aws:SecureTransport false."
#   seed: "002 Phase 0 (encryption in transit); AWS Config s3-bucket-ssl-requests-only"
#   absence_is_compliance: true
package custos.rules.s3.bucket_tls_only

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

# Only buckets collected with the TLS check (denies_insecure_transport present) are judged.
violations contains v if {
	some r in lib.resources("AWS::S3::Bucket")
	r.configuration.denies_insecure_transport == false
	msg := concat("", ["bucket ", r.id, " does not deny requests without TLS"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}
