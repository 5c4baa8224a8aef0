"""Every wait is budgeted from the invocation's remaining time: no request outlives the function's timeout."""

from __future__ import annotations

import json
import time
from typing import Any

from authhooks import budget, settings
from authhooks.store import Keys, token_store

from local import events, runtime
from local.sandbox.client import SandboxClient
from tests.conftest import Api

LOGIN = {"client_name": "SANDBOX", "user_name": "budget-user", "password": "sandbox-password"}


def _invoke(api: Api, method: str, path: str, body: dict[str, Any], seconds_left: float) -> tuple[int, dict, float]:
    """Call the route's handler with a Lambda context that has only ``seconds_left`` before the timeout."""
    route, event = events.routed_event(
        api.routes, method, path, headers={"Content-Type": "application/json"}, body=json.dumps(body)
    )
    context = runtime.LambdaContext(function_name=route.function, timeout_seconds=seconds_left)
    started = time.monotonic()
    result = api.handler(route.function)(event, context)
    return result["statusCode"], json.loads(result["body"]), time.monotonic() - started


def test_a_login_waiting_for_a_dead_lease_gives_up_within_the_time_left(
    api: Api, sandbox_client: SandboxClient
) -> None:
    from livevox_login import login

    api.handler("LiveVoxLoginFunction")
    deployment = login._Deployment.load()
    lock = Keys.lvx_lock(*deployment.identity("SANDBOX", "budget-user", "user"))
    # A holder that never finishes: without a budget the waiter would poll for the whole configured wait.
    assert token_store().acquire(lock, 3600) is not None
    assert settings.livevox().login_wait_seconds >= 4

    status, problem, elapsed = _invoke(api, "POST", "/livevox/sessions", LOGIN, seconds_left=2.5)

    assert status == 503 and problem["code"] == "vendor_unavailable", problem
    assert elapsed < 2.5, f"the wait outlived the invocation ({elapsed:.1f} s)"
    assert "livevox.login" not in sandbox_client.calls()


def test_a_vendor_call_never_waits_past_the_time_left(
    api: Api, sandbox_client: SandboxClient, monkeypatch: Any
) -> None:
    monkeypatch.setenv("VENDOR_READ_TIMEOUT", "5")  # the configured timeout alone would wait for the answer
    settings.reset()
    sandbox_client.latency(4000)  # a vendor slower than the time this invocation has left

    status, problem, elapsed = _invoke(
        api, "POST", "/livevox/sessions", {**LOGIN, "user_name": "slow"}, seconds_left=2.0
    )

    assert status == 504 and problem["code"] == "vendor_timeout", problem
    assert elapsed < 2.0, f"the vendor call outlived the invocation ({elapsed:.1f} s)"


def test_the_budget_is_what_the_context_says_less_a_reserve() -> None:
    budget.start(10.0)
    assert 10.0 - budget.RESERVE_SECONDS - 0.5 < budget.remaining() <= 10.0 - budget.RESERVE_SECONDS
    assert budget.cap(60.0) <= 10.0 - budget.RESERVE_SECONDS
    budget.start(0.5)
    assert budget.remaining() == 0.0
    assert budget.cap(3.0) == 0.05, "a call still gets a moment to fail fast"
    budget.start(None)
