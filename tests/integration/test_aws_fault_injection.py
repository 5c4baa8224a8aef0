"""The ``api_faults`` fixture: the functions in process reach DynamoDB and Secrets Manager through the AWS fault
proxy, so a test can fail their AWS requests (``sandbox_client.fault("dynamodb", "PutItem", "throttle")``)."""

from __future__ import annotations

import pytest
from authhooks import settings

from local import config
from local.sandbox.client import SandboxClient
from tests.conftest import Api, AwsBackend

AUTHOR = {"author": {"author_reference": "AWS-FAULTS-1", "name": "Fault Author", "email": "faults@example.com"}}
OTHER_AUTHOR = {"author": {"author_reference": "AWS-FAULTS-2", "name": "Other Author", "email": "other@example.com"}}
PERSISTENT = 1000  # more requests than any retry policy makes


def test_the_functions_aws_requests_go_through_the_proxy(api_faults: Api, sandbox_client: SandboxClient) -> None:
    reply = api_faults.put("/loudvoice/sessions", json=AUTHOR)

    assert reply.status == 201, reply.text
    calls = sandbox_client.calls()
    assert calls["secretsmanager.GetSecretValue"] == 1
    assert calls["dynamodb.GetItem"] >= 1 and calls["dynamodb.PutItem"] >= 1
    assert calls["loudvoice.session_start"] == 1


@pytest.mark.parametrize(
    ("service", "operation", "mode"),
    [
        ("dynamodb", "GetItem", "throttle"),
        ("dynamodb", "GetItem", "reset"),
        ("secretsmanager", "GetSecretValue", "throttle"),
    ],
)
def test_botocore_retries_absorb_a_fault_shorter_than_its_attempts(
    api_faults: Api, aws_server: AwsBackend, sandbox_client: SandboxClient, service: str, operation: str, mode: str
) -> None:
    # How many of these requests a start makes without faults (a new author: one read before its lease, one under).
    assert api_faults.put("/loudvoice/sessions", json=OTHER_AUTHOR).status == 201
    unfaulted = sandbox_client.calls()[f"{service}.{operation}"]
    for item in aws_server.items():
        aws_server.dynamodb.delete_item(TableName=config.TABLE_NAME, Key={"pk": item["pk"]})
    settings.reset()  # the secret is fetched again
    sandbox_client.clear_calls()
    # How many requests the function's client makes for one call: a fault that never ends meets every one.
    sandbox_client.fault(service, operation, mode, count=PERSISTENT)
    api_faults.put("/loudvoice/sessions", json=AUTHOR)
    attempts = sandbox_client.calls()[f"{service}.{operation}"]
    assert attempts >= 2, "botocore's retries are on"
    assert aws_server.items() == [], "the failed start stored nothing"
    sandbox_client.clear_faults()
    sandbox_client.clear_calls()

    sandbox_client.fault(service, operation, mode, count=attempts - 1)
    reply = api_faults.put("/loudvoice/sessions", json=AUTHOR)

    assert reply.status == 201, reply.text
    # The first call's retries absorbed the faults: the start made its usual requests, and the retries on top.
    assert sandbox_client.calls()[f"{service}.{operation}"] == unfaulted + attempts - 1
    assert sandbox_client.faults() == []
