"""Single flight: concurrent requests on a cold cache make one LiveVox login per account, against moto's HTTP server.

Requests run in threads of this process (real concurrent DynamoDB requests over sockets, real sandbox calls).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from authhooks import settings
from authhooks.store import Keys, token_store

from tests.conftest import sandbox_calls
from tests.integration.livevox.conftest import SESSIONS, concurrently, credentials, records


def test_32_requests_for_one_account_make_one_login(api_server: Any, sandbox_url: str, aws_server: Any) -> None:
    replies = concurrently(api_server, [{"account": "demo"}] * 32)
    assert [r.status for r in replies] == [200] * 32, [r.text for r in replies if r.status != 200]
    assert sandbox_calls(sandbox_url)["livevox.login"] == 1
    assert len({r.json()["session_id"] for r in replies}) == 1
    assert Counter(r.json()["cached"] for r in replies) == {False: 1, True: 31}
    assert len(records(aws_server, "session")) == 1 and records(aws_server, "lock") == []


def test_4_accounts_by_8_requests_make_4_logins(api_server: Any, sandbox_url: str, aws_server: Any) -> None:
    users = [f"worker-{n}" for n in range(4)]
    bodies = [credentials(user) for user in users for _ in range(8)]
    replies = concurrently(api_server, bodies)
    assert [r.status for r in replies] == [200] * 32, [r.text for r in replies if r.status != 200]
    assert sandbox_calls(sandbox_url)["livevox.login"] == 4
    by_user: dict[str, set[str]] = {}
    for body, reply in zip(bodies, replies, strict=True):
        by_user.setdefault(body["user_name"], set()).add(reply.json()["session_id"])
    assert all(len(ids) == 1 for ids in by_user.values())
    assert len(set.union(*by_user.values())) == 4
    assert len(records(aws_server, "session")) == 4


def test_waiters_take_over_when_the_holders_login_fails(
    api_server: Any, sandbox_url: str, fault: Callable[..., None]
) -> None:
    # The first holder's login and its one retry fail; a waiter then takes the lease and logs in.
    fault("login", "error_500", count=2)
    replies = concurrently(api_server, [{"account": "demo"}] * 8)
    statuses = Counter(r.status for r in replies)
    assert statuses == {200: 7, 503: 1}, [r.text for r in replies]
    assert len({r.json()["session_id"] for r in replies if r.status == 200}) == 1
    assert sandbox_calls(sandbox_url)["livevox.login"] == 3


def _lock_of_demo() -> str:
    """The lease key the demo account's logins take (the same identity parts as the route)."""
    from livevox_login import login

    deployment = login._Deployment.load()
    return Keys.lvx_lock(*deployment.identity("SANDBOX", "demo-user", "user"))


def test_a_dead_holders_lease_expires_and_a_waiter_logs_in(
    api: Any, sandbox_url: str, aws: Any, log_lines: list[str]
) -> None:
    api.handler("LiveVoxLoginFunction")
    # A holder that took the lease and died: it never logs in and never gives the lease back.
    assert token_store().acquire(_lock_of_demo(), settings.livevox().lease_seconds) is not None
    result: list[Any] = []
    waiter = threading.Thread(target=lambda: result.append(api.post(SESSIONS, json={"account": "demo"})))
    waiter.start()
    deadline = time.monotonic() + 10
    while not [line for line in log_lines if "waiting for a concurrent" in line] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "livevox.login" not in sandbox_calls(sandbox_url)  # it waits instead of logging in
    api.clock.advance(settings.livevox().lease_seconds + 1)  # the lease's time is up
    waiter.join(timeout=30)
    [reply] = result
    assert reply.status == 200, reply.text
    assert reply.json()["cached"] is False
    assert sandbox_calls(sandbox_url) == {"livevox.login": 1}


def test_a_lease_that_never_frees_ends_in_503_with_retry_after(api: Any, sandbox_url: str, aws: Any) -> None:
    api.handler("LiveVoxLoginFunction")
    assert token_store().acquire(_lock_of_demo(), 3600) is not None
    reply = api.post(SESSIONS, json={"account": "demo"})
    assert reply.status == 503
    assert reply.json()["code"] == "vendor_unavailable"
    assert reply.header("Retry-After") == str(settings.livevox().lease_seconds)
    assert sandbox_calls(sandbox_url) == {}
    assert records(aws, "session") == []
