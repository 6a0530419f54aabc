# Loaded by test/http/schemathesis.test.ts through SCHEMATHESIS_HOOKS. A bundle upload
# (POST /v1/policy-bundles, application/gzip, a binary string) is sent as raw bytes, the way
# schemathesis sends application/octet-stream; without this it cannot serialize that operation.
import schemathesis

schemathesis.serializer.alias("application/gzip", "application/octet-stream")
