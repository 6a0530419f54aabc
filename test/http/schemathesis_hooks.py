# Loaded by test/http/schemathesis.test.ts through SCHEMATHESIS_HOOKS. A bundle upload
# (POST /v1/policy-bundles, application/gzip, a binary string) is sent as raw bytes, the way
# schemathesis sends application/octet-stream; without this it cannot serialize that operation.
import schemathesis

schemathesis.serializer.alias("application/gzip", "application/octet-stream")

# The operations that read AWS in the request: organization sync (STS, then Organizations) and
# Lake Formation reconciliation (ListPermissions of a registered source). With no AWS here they
# answer 503 with a problem type ending in "-unavailable" by design (fail closed). They are fuzzed
# like every other operation; that one answer is the only 5xx this check accepts, and only from
# them. Anything else at or above 500 fails, as `not_a_server_error` would.
AWS_IN_REQUEST = {"postOrganizationsByIdSync", "postAccessReconcile"}


@schemathesis.check
def no_server_error_but_aws_unavailable(ctx, response, case):
    """No 5xx, except 503 <source>-unavailable from an operation that reads AWS in the request."""
    if response.status_code < 500:
        return
    operation_id = case.operation.definition.raw.get("operationId")
    if operation_id in AWS_IN_REQUEST and response.status_code == 503:
        try:
            problem = response.json()
        except Exception:
            problem = {}
        if str(problem.get("type", "")).endswith("-unavailable"):
            return
    raise AssertionError(f"{operation_id} answered {response.status_code}: {response.text[:300]}")
