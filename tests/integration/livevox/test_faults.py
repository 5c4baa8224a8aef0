"""Vendor faults on login, validate and logout: mapped statuses, nothing written, and a clean recovery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from authhooks.vendors.livevox import LOGIN_RETRIES

from tests.conftest import sandbox_calls
from tests.contract import VENDOR_FAULT_ANSWERS
from tests.integration.livevox.conftest import SESSIONS, credentials, records

# Enough faulted calls to outlast every attempt the retry policy makes.
ATTEMPTS = 1 + LOGIN_RETRIES.connect + LOGIN_RETRIES.read + LOGIN_RETRIES.status


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [(mode, promise.status, promise.code) for mode, promise in VENDOR_FAULT_ANSWERS.items()],
)
@pytest.mark.parametrize("body", [credentials(), {"account": "demo"}], ids=["direct", "account"])
def test_login_faults_map_write_nothing_and_recover(
    api: Any,
    sandbox_url: str,
    aws: Any,
    fault: Callable[..., None],
    clear_faults: Callable[[], None],
    mode: str,
    status: int,
    code: str,
    body: dict[str, Any],
) -> None:
    fault("login", mode, count=ATTEMPTS, seconds=3)
    reply = api.post(SESSIONS, json=body)
    assert reply.status == status, reply.text
    assert reply.header("Content-Type") == "application/problem+json"
    assert reply.json()["code"] == code
    if status == 503:
        assert int(reply.header("Retry-After")) > 0
    assert aws.items() == []  # no session, no by-id record, and the lease was given back

    clear_faults()
    recovered = api.post(SESSIONS, json=body)
    assert recovered.status == 200
    assert recovered.json()["cached"] is False
    assert sandbox_calls(sandbox_url) == {"livevox.login": 1}


def test_a_500_is_retried_once_then_succeeds(api: Any, sandbox_url: str, fault: Callable[..., None]) -> None:
    fault("login", "error_500", count=1)
    reply = api.post(SESSIONS, json=credentials())
    assert reply.status == 200
    assert sandbox_calls(sandbox_url) == {"livevox.login": 2}


def test_a_rate_limit_is_not_retried_and_passes_retry_after_on(
    api: Any, sandbox_url: str, fault: Callable[..., None]
) -> None:
    fault("login", "rate_limit", count=ATTEMPTS)
    reply = api.post(SESSIONS, json=credentials())
    assert reply.status == 503 and reply.header("Retry-After") == "2"  # the sandbox's own Retry-After
    assert sandbox_calls(sandbox_url) == {"livevox.login": 1}


def test_sso_faults_map_too(api: Any, aws: Any, fault: Callable[..., None]) -> None:
    fault("sso_login", "garbage")
    reply = api.post(f"{SESSIONS}/sso", json={"client_name": "SANDBOX", "id_token": "sandbox-id-token:sam"})
    assert reply.status == 502 and reply.json()["code"] == "vendor_rejected"
    assert aws.items() == []


@pytest.mark.parametrize(("operation", "method"), [("validate", "get"), ("logout", "delete")])
def test_validate_and_logout_faults_keep_the_records(
    api: Any, aws: Any, fault: Callable[..., None], clear_faults: Callable[[], None], operation: str, method: str
) -> None:
    session_id = api.post(SESSIONS, json=credentials()).json()["session_id"]
    before = records(aws)
    fault(operation, "error_500", count=ATTEMPTS)
    reply = getattr(api, method)(f"{SESSIONS}/{session_id}")
    assert reply.status == 503 and reply.json()["code"] == "vendor_unavailable"
    assert records(aws) == before
    clear_faults()
    assert getattr(api, method)(f"{SESSIONS}/{session_id}").status in (200, 204)
