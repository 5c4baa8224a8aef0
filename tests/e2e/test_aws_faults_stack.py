"""AWS faults through the whole local stack (what `make dev` runs): the functions' workers reach DynamoDB and
Secrets Manager through the sandboxes' AWS fault proxy."""

from __future__ import annotations

import requests

from local.sandbox.client import SandboxClient
from local.stack import Stack
from tests.conftest import STORE_ATTEMPTS

AUTHOR = {"author": {"author_reference": "STACK-AWS-1", "name": "Stack Author", "email": "stack@example.com"}}


def test_the_workers_aws_requests_are_counted_and_can_be_faulted(stack: Stack) -> None:
    sandbox = SandboxClient(stack.sandbox_url)
    sandbox.reset()
    # The reads of a start without faults (a new author: one before its lease, one under it).
    other = {"author": {**AUTHOR["author"], "author_reference": "STACK-AWS-2"}}
    assert requests.put(f"{stack.api_url}/loudvoice/sessions", json=other, timeout=60).status_code == 201
    unfaulted = sandbox.calls()["dynamodb.GetItem"]
    sandbox.clear_calls()
    # One throttle fewer than the layer's DynamoDB client makes attempts (StoreRetries after the first): absorbed.
    sandbox.fault("dynamodb", "GetItem", "throttle", count=STORE_ATTEMPTS - 1)

    answer = requests.put(f"{stack.api_url}/loudvoice/sessions", json=AUTHOR, timeout=60)

    assert answer.status_code in (200, 201), answer.text
    calls = sandbox.calls()
    assert calls["dynamodb.GetItem"] == unfaulted + STORE_ATTEMPTS - 1, calls  # the retries on top
    assert calls.get("secretsmanager.GetSecretValue", 0) <= 1 and calls["loudvoice.session_start"] == 1
    assert sandbox.faults() == []
    assert stack.aws_url != stack.dynamodb_url
