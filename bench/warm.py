"""Warm latency of each cache-hit path, in process against moto's HTTP server, next to bare boto3.

Each path is called through its handler with a real payload 2.0 event. The base replays, with a bare
boto3 client on the same server, exactly the DynamoDB calls one hit made (captured with a botocore
event hook), and the DynamoDB requests per hit are counted at the HTTP level (``before-send``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections.abc import Callable
from typing import Any

from botocore import xform_name

from bench.environment import Backends
from bench.stats import summarize
from local import events, runtime, template
from local.sandbox.client import SandboxClient

WARMUP = 50


class _Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


class Caller:
    """Calls a function's handler in process with a payload 2.0 event routed from template.yaml."""

    def __init__(self) -> None:
        self.functions = template.functions(template.cached())
        self.routes = [route for fn in self.functions.values() for route in fn.routes]
        self.handlers = {fid: runtime.load_handler(fn, "build") for fid, fn in self.functions.items()}

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        routed = events.routed_event(
            self.routes,
            method,
            path,
            body=json.dumps(body) if body is not None else None,
            headers={"content-type": "application/json", "accept": "application/json"},
        )
        assert routed, f"no route for {method} {path}"
        route, event = routed
        result = self.handlers[route.function](event, runtime.LambdaContext(route.function))
        status, _, raw = events.http_response(result)
        return status, json.loads(raw) if raw else None


def _timed_pair(ours: Callable[[], Any], base: Callable[[], Any], count: int) -> tuple[list[float], list[float]]:
    """Alternate the two calls, so drift on a shared machine (the server's state, other load) hits both alike."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(count):
        for call, into in ((ours, samples[0]), (base, samples[1])):
            started = time.perf_counter()
            call()
            into.append((time.perf_counter() - started) * 1000)
    return samples


def _paths(call: Caller, sandbox_url: str) -> dict[str, Callable[[], tuple[int, Any]]]:
    """Set up one cached record per function and return the request that hits it."""
    minted = SandboxClient(sandbox_url).mint_bazaarvoice_token(email="bench@example.com")
    status, confirmed = call("POST", "/bazaarvoice/confirm", {"bv_authtoken": minted["bv_authtoken"]})
    assert status == 200, confirmed
    user_path = f"/bazaarvoice/users/{confirmed['bv_user_id']}"
    author = {"author": {"author_reference": "BENCH-1", "name": "Bench Author", "email": "bench@example.com"}}
    account = {"account": "demo"}
    return {
        "Bazaarvoice user lookup": lambda: call("GET", user_path),
        "LoudVoice session reuse": lambda: call("PUT", "/loudvoice/sessions", author),
        "LiveVox session reuse": lambda: call("POST", "/livevox/sessions", account),
    }


def measure(backends: Backends, calls: int) -> dict[str, Any]:
    for logical_id in template.functions(template.cached()):
        env = backends.function_env(logical_id)
        env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        os.environ.update({k: v for k, v in env.items() if k != "POWERTOOLS_SERVICE_NAME"})
    with contextlib.redirect_stdout(_Discard()):  # metrics (EMF) lines would drown the table
        return _measure(backends, calls)


def _measure(backends: Backends, calls: int) -> dict[str, Any]:
    import boto3

    call = Caller()
    from authhooks.store import token_store  # the layer's store, from the built artifact

    client = token_store().client
    sent: list[str] = []
    made: list[tuple[str, dict[str, Any]]] = []
    client.meta.events.register("before-send.dynamodb", lambda **kw: sent.append("request"))
    client.meta.events.register(
        "provide-client-params.dynamodb", lambda params, model, **kw: made.append((model.name, dict(params)))
    )
    bare = boto3.client("dynamodb", endpoint_url=backends.moto_url, region_name="us-east-1")
    results: dict[str, Any] = {}
    for name, hit in _paths(call, backends.sandbox_url).items():
        for _ in range(WARMUP):
            status, body = hit()
        assert status == 200, (name, status, body)
        if isinstance(body, dict) and "cached" in body:
            assert body["cached"] is True, f"{name} is not a cache hit"
        made.clear()
        hit()
        replay = list(made)

        def bare_calls(ops: list[tuple[str, dict[str, Any]]] = replay) -> None:
            for operation, params in ops:
                getattr(bare, xform_name(operation))(**params)

        for _ in range(WARMUP):
            bare_calls()
        sent.clear()
        ours, base = _timed_pair(hit, bare_calls, calls)
        requests_per_hit = len(sent) / calls
        ours_summary, base_summary = summarize(ours), summarize(base)
        results[name] = {
            "handler_ms": ours_summary.as_dict(),
            "bare_boto3_ms": base_summary.as_dict(),
            "dynamodb_operations": [operation for operation, _ in replay],
            "dynamodb_requests_per_hit": round(requests_per_hit, 3),
            "p50_ratio_to_bare": round(ours_summary.median / base_summary.median, 2),
        }
    return results
