"""Vendor calls saved: many requests over few accounts through the local API (worker processes, like
Lambda containers) with a realistic vendor latency, next to calling the vendor every time."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench.environment import Backends
from bench.stats import summarize
from local import template
from local.sandbox import livevox, loudvoice
from local.sandbox.client import SandboxClient
from local.stack import Stack

WORKERS = 16
WARM_UP_TOKEN = "0b7c2a1e-4f3d-4c2b-9a8e-1d2c3b4a5f60"
LOUDVOICE_AUTH = (loudvoice.PUBLIC_KEY, loudvoice.PRIVATE_KEY)


def _run(requests_count: int, send: Callable[[int], int]) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def one(index: int) -> None:
        started = time.perf_counter()
        status = send(index)
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(one, range(requests_count)))
    return {
        "wall_s": round(time.perf_counter() - started, 3),
        "latency_ms": summarize(latencies).as_dict(),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def _status_of(send: Callable[[int], requests.Response]) -> Callable[[int], int]:
    """``send``, keeping only the answer's status (what ``_run`` counts)."""
    return lambda index: send(index).status_code


def _get(session: requests.Session, url: str) -> Callable[[int], requests.Response]:
    """A sender that GETs ``url`` whatever the request's index."""
    return lambda _: session.get(url, timeout=60)


def _livevox_body(index: int) -> dict[str, Any]:
    return {"client_name": livevox.CLIENT_NAME, "user_name": f"bench-user-{index % 10}", "password": livevox.PASSWORD}


def _wrong_password(user: str, index: int) -> dict[str, Any]:
    """A different wrong password each time: the worst case (a repeated one is remembered after one refusal)."""
    return {"clientName": livevox.CLIENT_NAME, "userName": user, "password": f"wrong-{index}", "agent": False}


def _storm(session: requests.Session, controls: SandboxClient, api_url: str, requests_count: int) -> dict[str, Any]:
    """Wrong passwords for one user through us and straight at LiveVox: logins made and whether LiveVox locked it."""
    limit = int(template.parameter_defaults()["LiveVoxRefusalLimit"])
    controls.clear_calls()

    def through_us(i: int) -> int:
        body = _wrong_password("storm-user", i)
        return session.post(
            f"{api_url}/livevox/sessions",
            json={"client_name": body["clientName"], "user_name": body["userName"], "password": body["password"]},
            timeout=60,
        ).status_code

    ours = _run(requests_count, through_us)
    made = controls.calls().get("livevox.login", 0)
    every_time = _run(
        requests_count,
        lambda i: (
            session.post(
                f"{controls.url}/livevox/session/login",
                json=_wrong_password("storm-direct-user", i),
                headers={"LV-Access": livevox.ACCESS_TOKEN},
                timeout=60,
            ).status_code
        ),
    )
    locked = {
        "through_authhooks": controls.livevox_user("storm-user")["locked"],
        "vendor_every_time": controls.livevox_user("storm-direct-user")["locked"],
    }
    return {
        "vendor_calls": made,
        "floor": limit,
        "through_authhooks": ours,
        "vendor_every_time": every_time,
        "speedup": round(every_time["wall_s"] / ours["wall_s"], 2),
        "user_locked": locked,
    }


def _loudvoice_body(index: int) -> dict[str, Any]:
    n = index % 50
    return {"author": {"author_reference": f"BENCH-{n}", "name": f"Author {n}", "email": f"a{n}@example.com"}}


ONE_AUTHOR = {"author": {"author_reference": "BENCH-ONE", "name": "One Author", "email": "one@example.com"}}

BAZAARVOICE_REPEATS = "bazaarvoice_repeats"
DOUBLE_SUBMITS = 20
REFUSED_REPEATS = 30


def bazaarvoice_repeats(stack: Stack, session: requests.Session, latency_ms: int) -> dict[str, Any]:
    """Bazaarvoice calls for 20 double submits of a link (floor: one each) and 30 POSTs of one refused token
    (floor: one), each pair or burst sent at once through the local API."""
    controls = SandboxClient(stack.sandbox_url, session)
    controls.latency(latency_ms)
    tokens = [controls.mint_bazaarvoice_token()["bv_authtoken"] for _ in range(DOUBLE_SUBMITS)]

    def post(token: str) -> int:
        return session.post(
            f"{stack.api_url}/bazaarvoice/confirm",
            json={"bv_authtoken": token},
            headers={"Accept": "application/json"},
            timeout=60,
        ).status_code

    controls.clear_calls()
    doubles = _run(2 * DOUBLE_SUBMITS, lambda i: post(tokens[i // 2]))  # each token's two POSTs side by side
    double_calls = controls.calls().get("bazaarvoice.authenticateuser", 0)
    controls.clear_calls()
    refused = _run(REFUSED_REPEATS, lambda _: post("bench-made-up-token"))
    refused_calls = controls.calls().get("bazaarvoice.authenticateuser", 0)
    return {
        "double_submits": DOUBLE_SUBMITS,
        "vendor_calls_per_double_submit": round(double_calls / DOUBLE_SUBMITS, 3),
        "double_submit_answers": doubles,
        "refused_repeats": REFUSED_REPEATS,
        "vendor_calls_per_repeated_refused_token": refused_calls,
        "refused_answers": refused,
    }


def measure(_: Backends, requests_count: int, latency_ms: int) -> dict[str, Any]:
    stack = Stack(api_port=0, dynamodb_port=0, sandbox_port=0, artifact="build").start()
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=WORKERS))
    try:
        sandbox = stack.sandbox_url
        controls = SandboxClient(sandbox, session)
        controls.latency(latency_ms)
        results: dict[str, Any] = {"vendor_latency_ms": latency_ms, "requests": requests_count, "workers": WORKERS}

        def loudvoice_case(floor: int, body: Callable[[int], dict[str, Any]]) -> tuple[Any, ...]:
            """Session starts with ``body(i)``: through us, and straight to the LoudVoice sandbox."""
            return (
                "loudvoice.session_start",
                floor,
                lambda i: session.put(f"{stack.api_url}/loudvoice/sessions", json=body(i), timeout=60),
                lambda i: session.put(
                    f"{sandbox}/loudvoice/loudvoice/authors/sessions.json",
                    json={"request": {"author_session": {"author": body(i)["author"]}}},
                    auth=LOUDVOICE_AUTH,
                    timeout=60,
                ),
            )

        cases = {
            "LiveVox (10 accounts)": (
                "livevox.login",
                10,
                lambda i: session.post(f"{stack.api_url}/livevox/sessions", json=_livevox_body(i), timeout=60),
                lambda i: session.post(
                    f"{sandbox}/livevox/session/login",
                    json={
                        "clientName": livevox.CLIENT_NAME,
                        "userName": f"bench-user-{i % 10}",
                        "password": livevox.PASSWORD,
                        "agent": False,
                    },
                    headers={"LV-Access": livevox.ACCESS_TOKEN},
                    timeout=60,
                ),
            ),
            "LoudVoice (50 authors)": loudvoice_case(50, _loudvoice_body),
            # Every request starts a session for the same author at once: one LoudVoice call, whatever the burst.
            "LoudVoice (1 author, concurrent)": loudvoice_case(1, lambda _: ONE_AUTHOR),
        }
        # Start every worker process first (Lambda keeps warm containers); cold starts are measured elsewhere.
        for path in ("/livevox/sessions/warm-up", f"/loudvoice/sessions/{WARM_UP_TOKEN}"):
            _run(WORKERS * 2, _status_of(_get(session, f"{stack.api_url}{path}")))
        for name, (counter, floor, through_us, direct) in cases.items():
            controls.clear_calls()
            ours = _run(requests_count, _status_of(through_us))
            made = controls.calls().get(counter, 0)
            every_time = _run(requests_count, _status_of(direct))
            results[name] = {
                "vendor_calls": made,
                "floor": floor,
                "through_authhooks": ours,
                "vendor_every_time": every_time,
                "speedup": round(every_time["wall_s"] / ours["wall_s"], 2),
            }
        results["LiveVox wrong-password storm (1 user)"] = _storm(session, controls, stack.api_url, requests_count)
        results[BAZAARVOICE_REPEATS] = bazaarvoice_repeats(stack, session, latency_ms)
        return results
    finally:
        session.close()
        stack.stop()
