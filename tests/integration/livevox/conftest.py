"""LiveVox route fixtures: sandbox faults, the table's records, the canary secrets."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from authhooks import settings
from boto3.dynamodb.types import TypeDeserializer

from local.config import DEMO_SECRETS
from local.sandbox import livevox
from local.sandbox.client import SandboxClient

SESSIONS = "/livevox/sessions"
PASSWORD = livevox.PASSWORD
# Sandbox values of every secret the LiveVox routes see: none may reach a log, an answer or a key.
CANARIES = (livevox.PASSWORD, livevox.ACCESS_TOKEN, DEMO_SECRETS["LiveVoxSessionKeySecret"]["session_key"])

_deserializer = TypeDeserializer()


def credentials(user: str = "alice", *, password: str = PASSWORD, agent: bool = False) -> dict[str, Any]:
    return {"client_name": livevox.CLIENT_NAME, "user_name": user, "password": password, "agent": agent}


@pytest.fixture
def fault(sandbox_url: str) -> Callable[..., None]:
    """Make the next ``count`` calls of a LiveVox operation fail by ``mode``."""

    def add(operation: str, mode: str, count: int = 1, seconds: float | None = None) -> None:
        SandboxClient(sandbox_url).fault("livevox", operation, mode, count, seconds)

    return add


@pytest.fixture
def clear_faults(sandbox_url: str) -> Callable[[], None]:
    def clear() -> None:
        SandboxClient(sandbox_url).clear_faults()
        SandboxClient(sandbox_url).clear_calls()

    return clear


def records(aws: Any, kind: str = "") -> list[dict[str, Any]]:
    """Every item DynamoDB holds (expired or not), decoded; only ``lvx#<kind>#`` ones when kind is given."""
    items = [{k: _deserializer.deserialize(v) for k, v in item.items()} for item in aws.items()]
    return [item for item in items if item["pk"].startswith(f"lvx#{kind}#" if kind else "")]


def concurrently(api: Any, bodies: list[dict[str, Any]]) -> list[Any]:
    """POST every body at once (released together by a barrier) and return the replies in order."""
    # Import the handler and read the secret once, as a warm container would have: threads of one process
    # share them, and 32 cold reads at once only measure boto3 building clients under the GIL.
    api.handler("LiveVoxLoginFunction")
    settings.secret(settings.livevox().secret_name)
    barrier = threading.Barrier(len(bodies))

    def post(body: dict[str, Any]) -> Any:
        barrier.wait(timeout=30)
        return api.post(SESSIONS, json=body)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))
