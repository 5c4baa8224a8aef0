"""Every vendor operation we call x every sandbox fault mode: docs/api.md's status, Retry-After, no partial write.

Each case prepares what the operation needs (a minted token, a started session, a login), counts the table's
items, makes the next calls of that one operation fail, and calls the route once: the answer must be the
promised problem (or, for the landing page, the error page with the same status), and the table must hold
exactly what it held before. The fault count outlasts every client's bounded retries.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from local.audit import tally
from local.sandbox import livevox
from local.sandbox.client import SandboxClient
from tests.conftest import Api, AwsBackend, Reply
from tests.contract import VENDOR_FAULT_ANSWERS

FAULT_COUNT = 10  # more attempts than any client's retry policy makes
TIMEOUT_HOLD_SECONDS = 3  # longer than the tests' 1 s vendor read timeout
JSON_ACCEPT = {"Accept": "application/json"}

PROMISED = VENDOR_FAULT_ANSWERS


def _ok(reply: Reply) -> dict[str, Any]:
    assert reply.status in (200, 201), reply.text
    return reply.json()


LOGIN = {"client_name": livevox.CLIENT_NAME, "user_name": "matrix-user", "password": livevox.PASSWORD}
AUTHOR = {"author": {"author_reference": "MATRIX-1", "name": "Matrix Author", "email": "matrix@example.com"}}


@dataclass(frozen=True)
class Operation:
    """One vendor operation: how to get ready for it, and the route call that makes it."""

    vendor: str
    name: str
    prepare: Callable[[Api, str], Any]
    call: Callable[[Api, Any], Reply]
    html: bool = False  # the landing route: an error page instead of problem+json


OPERATIONS = [
    Operation(
        "bazaarvoice",
        "authenticateuser",
        lambda api, url: SandboxClient(url).mint_bazaarvoice_token()["bv_authtoken"],
        lambda api, token: api.post("/bazaarvoice/confirm", json={"bv_authtoken": token}, headers=JSON_ACCEPT),
    ),
    Operation(
        "bazaarvoice",
        "authenticateuser",
        lambda api, url: SandboxClient(url).mint_bazaarvoice_token()["bv_authtoken"],
        lambda api, token: api.post(
            "/bazaarvoice/confirm",
            body=f"bv_authtoken={token}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        html=True,
    ),
    Operation(
        "loudvoice", "session_start", lambda api, url: None, lambda api, _: api.put("/loudvoice/sessions", json=AUTHOR)
    ),
    Operation(
        "loudvoice",
        "session_delete",
        lambda api, url: _ok(api.put("/loudvoice/sessions", json=AUTHOR))["session_token"],
        lambda api, token: api.delete(f"/loudvoice/sessions/{token}"),
    ),
    Operation("livevox", "login", lambda api, url: None, lambda api, _: api.post("/livevox/sessions", json=LOGIN)),
    Operation(
        "livevox",
        "login",
        lambda api, url: None,
        lambda api, _: api.post("/livevox/sessions", json={"account": "demo"}),
    ),
    Operation(
        "livevox",
        "sso_login",
        lambda api, url: None,
        lambda api, _: api.post(
            "/livevox/sessions/sso",
            json={"client_name": livevox.CLIENT_NAME, "id_token": f"{livevox.SSO_TOKEN_PREFIX}matrix"},
        ),
    ),
    Operation(
        "livevox",
        "validate",
        lambda api, url: _ok(api.post("/livevox/sessions", json=LOGIN))["session_id"],
        lambda api, session_id: api.get(f"/livevox/sessions/{session_id}"),
    ),
    Operation(
        "livevox",
        "logout",
        lambda api, url: _ok(api.post("/livevox/sessions", json=LOGIN))["session_id"],
        lambda api, session_id: api.delete(f"/livevox/sessions/{session_id}"),
    ),
]
IDS = [
    "bazaarvoice.authenticateuser(json)",
    "bazaarvoice.authenticateuser(page)",
    "loudvoice.session_start",
    "loudvoice.session_delete",
    "livevox.login(direct)",
    "livevox.login(account)",
    "livevox.sso_login",
    "livevox.validate",
    "livevox.logout",
]


def _snapshot(aws: AwsBackend) -> list[str]:
    """The table as it is, item by item, so that any write (not just a new key) shows."""
    return sorted(json.dumps(item, sort_keys=True) for item in aws.items())


@pytest.mark.parametrize("mode", sorted(PROMISED))
@pytest.mark.parametrize("operation", OPERATIONS, ids=IDS)
def test_a_vendor_fault_gets_the_promised_answer_and_writes_nothing(
    operation: Operation, mode: str, api: Api, aws: AwsBackend, sandbox_url: str
) -> None:
    label = f"{operation.vendor}.{operation.name} {mode}"
    tally("faults.tried", label)
    ready = operation.prepare(api, sandbox_url)
    before = _snapshot(aws)
    sandbox = SandboxClient(sandbox_url)
    sandbox.clear_calls()
    sandbox.fault(operation.vendor, operation.name, mode, count=FAULT_COUNT, seconds=TIMEOUT_HOLD_SECONDS)

    reply = operation.call(api, ready)

    status, code, retry_after = PROMISED[mode]
    assert reply.status == status, reply.text[:500]
    if operation.html:
        assert reply.header("Content-Type").startswith("text/html")
    else:
        assert reply.header("Content-Type") == "application/problem+json"
        assert reply.json()["code"] == code
    if retry_after:
        assert int(reply.header("Retry-After")) >= 1
    assert sandbox.calls().get(f"{operation.vendor}.{operation.name}", 0) >= 1, "the fault was met"
    assert _snapshot(aws) == before, "nothing written, nothing removed"
    tally("faults.survived", label)
