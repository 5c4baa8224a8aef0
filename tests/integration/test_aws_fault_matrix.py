"""Every AWS operation each route performs x every AWS fault mode: the promised 503 and Retry-After, nothing partial.

The operations a route performs are not listed by hand: each case first calls the route without faults and reads
which DynamoDB and Secrets Manager operations reached the fault proxy. Then, for each of them, the next requests
of that operation fail (more than botocore's retries), the route is called again, and the answer must be
``store_unavailable`` / ``credentials_unavailable`` with ``Retry-After``, the table as it was — unless the
failing step is one whose failure must not undo work the vendor already did (``SURVIVES``): then the answer is
the success, and nothing the caller needs is lost.

``make test`` runs every mode on a small, fixed sample of cases plus throttling on every case; ``make audit``
(``AUTHHOOKS_AWS_FAULTS=all``) runs the whole matrix.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from authhooks import settings

from local import template
from local.audit import tally
from local.sandbox.client import SandboxClient
from tests.conftest import AWS_TIMEOUT_HOLD_SECONDS, Api, AwsBackend, Reply

PERSISTENT = 50  # more requests than any client's retries make
TIMEOUT_HOLD_SECONDS = AWS_TIMEOUT_HOLD_SECONDS  # just past the functions' AWS read timeouts (TEST_OVERRIDES)
MODES = ("throttle", "error_500", "reset", "timeout")
PROMISED = {"dynamodb": "store_unavailable", "secretsmanager": "credentials_unavailable"}
JSON = {"Accept": "application/json"}
_serial = iter(range(1_000_000))


def _login() -> dict[str, Any]:
    """A user nobody logged in yet: the route takes its full path, not a cache hit."""
    return {"client_name": "SANDBOX", "user_name": f"aws-matrix-{next(_serial)}", "password": "sandbox-password"}


def _author() -> dict[str, Any]:
    return {
        "author": {
            "author_reference": f"AWS-MATRIX-{next(_serial)}",
            "name": "Matrix Author",
            "email": "matrix@example.com",
        }
    }


FUNCTION_TIMEOUT = float(template.cached()["Globals"]["Function"]["Timeout"])


@dataclass(frozen=True)
class Route:
    """A route call, and what it needs first (a token, a session)."""

    name: str
    prepare: Callable[[Api, SandboxClient], Any]
    call: Callable[[Api, Any], Reply]


def _ok(reply: Reply) -> dict[str, Any]:
    assert reply.status in (200, 201), reply.text
    return reply.json()


def _confirmed(api: Api, sandbox: SandboxClient) -> dict[str, Any]:
    token = sandbox.mint_bazaarvoice_token()["bv_authtoken"]
    return _ok(api.post("/bazaarvoice/confirm", json={"bv_authtoken": token}, headers=JSON))


ROUTES = [
    Route(
        "bazaarvoice.confirm",
        lambda api, sb: sb.mint_bazaarvoice_token()["bv_authtoken"],
        lambda api, token: api.post("/bazaarvoice/confirm", json={"bv_authtoken": token}, headers=JSON),
    ),
    Route(
        "bazaarvoice.user", _confirmed, lambda api, confirmed: api.get(f"/bazaarvoice/users/{confirmed['bv_user_id']}")
    ),
    Route(
        "loudvoice.start", lambda api, sb: _author(), lambda api, author: api.put("/loudvoice/sessions", json=author)
    ),
    Route(
        "loudvoice.read",
        lambda api, sb: _ok(api.put("/loudvoice/sessions", json=_author()))["session_token"],
        lambda api, token: api.get(f"/loudvoice/sessions/{token}"),
    ),
    Route(
        "loudvoice.end",
        lambda api, sb: _ok(api.put("/loudvoice/sessions", json=_author()))["session_token"],
        lambda api, token: api.delete(f"/loudvoice/sessions/{token}"),
    ),
    Route("livevox.login", lambda api, sb: _login(), lambda api, login: api.post("/livevox/sessions", json=login)),
    Route(
        "livevox.validate",
        lambda api, sb: _ok(api.post("/livevox/sessions", json=_login()))["session_id"],
        lambda api, session_id: api.get(f"/livevox/sessions/{session_id}"),
    ),
    Route(
        "livevox.logout",
        lambda api, sb: _ok(api.post("/livevox/sessions", json=_login()))["session_id"],
        lambda api, session_id: api.delete(f"/livevox/sessions/{session_id}"),
    ),
]

# (route, AWS operation) whose failure must not fail the request: why.
SURVIVES: dict[tuple[str, str], str] = {
    ("bazaarvoice.confirm", "DeleteItem"): "releasing the one-exchange lease is cleanup after Bazaarvoice said yes",
    ("livevox.login", "DeleteItem"): "releasing the login lease is cleanup; the lease expires by itself",
    ("loudvoice.start", "DeleteItem"): "releasing the author's start lease is cleanup; the lease expires by itself",
}


# (route, AWS operation) that fails after the vendor already acted: the answer is the 503, and the same request
# repeated once the store is back finishes the work (the vendor's side is not undone, ours is not left half-done).
FINISHED_ON_RETRY: dict[tuple[str, str], str] = {
    ("loudvoice.end", "DeleteItem"): "LoudVoice ended the session; our records are marked and the repeat forgets them",
    ("livevox.logout", "GetItem"): "LiveVox ended the session; the repeat forgets what is left of it here",
}


def _cases() -> list[tuple[Route, str]]:
    return [(route, mode) for route in ROUTES for mode in MODES]


def _selected(route: Route, mode: str) -> bool:
    """make test: throttling everywhere, every other mode on one route per function; make audit: everything."""
    if os.environ.get("AUTHHOOKS_AWS_FAULTS") == "all" or mode == "throttle":
        return True
    return route.name in ("bazaarvoice.confirm", "loudvoice.start", "livevox.login")


def _snapshot(aws: AwsBackend) -> list[str]:
    return sorted(json.dumps(item, sort_keys=True) for item in aws.items())


def _aws_operations(calls: dict[str, int]) -> list[tuple[str, str]]:
    return sorted(tuple(key.split(".", 1)) for key in calls if key.split(".", 1)[0] in PROMISED)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("route", "mode"),
    [c for c in _cases() if _selected(*c)],
    ids=[f"{r.name}-{m}" for r, m in _cases() if _selected(r, m)],
)
def test_an_aws_fault_gets_the_promised_answer_and_writes_nothing_partial(
    route: Route, mode: str, api_faults: Api, aws_server: AwsBackend, sandbox_client: SandboxClient
) -> None:
    ready = route.prepare(api_faults, sandbox_client)
    # Once without faults, to learn which AWS operations this call makes (the secret cache emptied first).
    settings.reset()
    sandbox_client.clear_calls()
    first = route.call(api_faults, ready)
    assert first.status < 400, first.text
    operations = _aws_operations(sandbox_client.calls())
    assert operations, "every route reads the table"

    for service, operation in operations:
        label = f"{route.name} {service}.{operation} {mode}"
        tally("aws_faults.tried", label)
        ready = route.prepare(api_faults, sandbox_client)
        settings.reset()  # the secret is fetched again, so a Secrets Manager fault is met
        before = _snapshot(aws_server)
        sandbox_client.clear_calls()
        sandbox_client.fault(service, operation, mode, count=PERSISTENT, seconds=TIMEOUT_HOLD_SECONDS)
        started = time.monotonic()

        reply = route.call(api_faults, ready)

        elapsed = time.monotonic() - started
        sandbox_client.clear_faults()
        assert sandbox_client.calls().get(f"{service}.{operation}", 0) >= 1, f"{label}: the fault was met"
        assert elapsed < FUNCTION_TIMEOUT, f"{label}: answered after the function's timeout ({elapsed:.1f} s)"
        if (route.name, operation) in SURVIVES:
            assert reply.status < 400, f"{label}: {reply.text[:300]}"
        else:
            assert reply.status == 503, f"{label}: {reply.text[:300]}"
            problem = reply.json()
            assert problem["code"] == PROMISED[service], label
            assert set(problem) == {"type", "title", "status", "code", "detail", "request_id"}, label
            assert int(reply.header("Retry-After") or 0) >= 1, label
            after = _snapshot(aws_server)
            if (route.name, operation) in FINISHED_ON_RETRY:
                again = route.call(api_faults, ready)
                assert again.status < 400, f"{label}, repeated: {again.text[:300]}"
                # The ended session is in no live record any more: nothing can hand it out again.
                live = [item for item in aws_server.items() if int(item["expires_at"]["N"]) > api_faults.clock()]
                assert str(ready) not in json.dumps(live), f"{label}: the ended session is left"
            else:
                assert after == before or _only_leases_differ(before, after), f"{label}: a partial write"
        tally("aws_faults.survived", label)


def _only_leases_differ(before: list[str], after: list[str]) -> bool:
    """A single-flight lease taken before the failing step expires by itself in seconds: it is not data."""
    changed = set(before) ^ set(after)
    return all(json.loads(item)["pk"]["S"].startswith(("lvx#lock#", "lv#lock#")) for item in changed)
