"""LoudVoice routes with DynamoDB or Secrets Manager failing: each AWS operation a route performs x each fault mode
answers 503 with Retry-After (never a 500), writes nothing half, and leaves nothing stale behind.

The functions reach AWS through the sandboxes' fault proxy (``api_faults``); the test looks at the table directly.
"""

from __future__ import annotations

from typing import Any

import pytest

from local.sandbox.client import SandboxClient
from tests.conftest import AWS_TIMEOUT_HOLD_SECONDS, Api, AwsBackend
from tests.integration.loudvoice.calls import JOHN, session_path, start

EVERY_ATTEMPT = 10  # more than botocore's attempts for one request
# Each mode is mapped once in the store (tests/integration/test_aws_fault_injection.py); here each operation of
# each route meets one or two of them, which keeps botocore's backoff from costing minutes.


def _unavailable(reply: Any, code: str = "store_unavailable") -> None:
    assert reply.status == 503, reply.text
    assert reply.json()["code"] == code
    assert int(reply.header("Retry-After")) >= 1


def _table(aws: AwsBackend) -> list[dict[str, Any]]:
    return sorted(aws.items(), key=lambda item: item["pk"]["S"])


def _truthful(api: Api, sandbox: Any, token: str) -> None:
    """After the faults: GET answers the session exactly when LoudVoice has it, and a start is never stale."""
    has_it = sandbox.state.loudvoice.session(token) is not None
    assert api.get(session_path(token)).status == (200 if has_it else 404)
    body = start(api, JOHN).json()
    vendor = sandbox.state.loudvoice.session(body["session_token"])
    assert vendor is not None and vendor.author.name == body["author"]["name"]


@pytest.mark.parametrize(
    ("operation", "warm", "mode"),
    [
        ("GetItem", False, "throttle"),
        ("PutItem", False, "error_500"),
        ("PutItem", False, "reset"),
        ("GetItem", True, "error_500"),
    ],
)
def test_start(
    operation: str,
    warm: bool,
    mode: str,
    api_faults: Api,
    aws_server: AwsBackend,
    sandbox: Any,
    sandbox_client: SandboxClient,
) -> None:
    token = start(api_faults, JOHN).json()["session_token"] if warm else None
    before = _table(aws_server)
    sandbox_client.fault("dynamodb", operation, mode, count=EVERY_ATTEMPT)

    _unavailable(start(api_faults, JOHN))

    sandbox_client.clear_faults()
    assert _table(aws_server) == before, "nothing half written"
    if token is not None:
        _truthful(api_faults, sandbox, token)


@pytest.mark.parametrize("mode", ["throttle"])
def test_get(mode: str, api_faults: Api, aws_server: AwsBackend, sandbox: Any, sandbox_client: SandboxClient) -> None:
    token = start(api_faults, JOHN).json()["session_token"]
    before = _table(aws_server)
    sandbox_client.fault("dynamodb", "GetItem", mode, count=EVERY_ATTEMPT)

    _unavailable(api_faults.get(session_path(token)))

    sandbox_client.clear_faults()
    assert _table(aws_server) == before
    _truthful(api_faults, sandbox, token)


@pytest.mark.parametrize("mode", ["error_500", "reset"])
@pytest.mark.parametrize("operation", ["UpdateItem", "DeleteItem"])
def test_delete(
    operation: str, mode: str, api_faults: Api, aws_server: AwsBackend, sandbox: Any, sandbox_client: SandboxClient
) -> None:
    token = start(api_faults, JOHN).json()["session_token"]
    sandbox_client.fault("dynamodb", operation, mode, count=EVERY_ATTEMPT)

    _unavailable(api_faults.delete(session_path(token)))

    sandbox_client.clear_faults()
    _truthful(api_faults, sandbox, token)
    assert api_faults.delete(session_path(token)).status == 204, "trying again finishes the end"
    assert sandbox.state.loudvoice.session(token) is None


def test_a_store_that_does_not_answer_is_503_within_the_budget(
    api_faults: Api, aws_server: AwsBackend, sandbox_client: SandboxClient
) -> None:
    sandbox_client.fault("dynamodb", "GetItem", "timeout", count=EVERY_ATTEMPT, seconds=AWS_TIMEOUT_HOLD_SECONDS)
    _unavailable(start(api_faults, JOHN))
    assert aws_server.items() == []


@pytest.mark.parametrize("mode", ["error_500"])
def test_secrets_manager_failing_is_credentials_unavailable(
    mode: str, api_faults: Api, aws_server: AwsBackend, sandbox: Any, sandbox_client: SandboxClient
) -> None:
    from authhooks import settings

    token = start(api_faults, JOHN).json()["session_token"]
    settings.reset()  # a cold container: the secret is read again
    sandbox_client.fault("secretsmanager", "GetSecretValue", mode, count=EVERY_ATTEMPT)

    _unavailable(start(api_faults, {**JOHN, "name": "Johnny"}), "credentials_unavailable")
    _unavailable(api_faults.delete(session_path(token)), "credentials_unavailable")

    sandbox_client.clear_faults()
    _truthful(api_faults, sandbox, token)
