"""LiveVox route fixtures: sandbox faults, the table's records, the canary secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from boto3.dynamodb.types import TypeDeserializer

SESSIONS = "/livevox/sessions"
PASSWORD = "sandbox-password"
# Sandbox values of every secret the LiveVox routes see: none may reach a log, an answer or a key.
CANARIES = ("sandbox-password", "sandbox-access-token", "local-session-key-not-for-production")

_deserializer = TypeDeserializer()


def credentials(user: str = "alice", *, password: str = PASSWORD, agent: bool = False) -> dict[str, Any]:
    return {"client_name": "SANDBOX", "user_name": user, "password": password, "agent": agent}


@pytest.fixture
def fault(sandbox_url: str) -> Callable[..., None]:
    """Make the next ``count`` calls of a LiveVox operation fail by ``mode``."""

    def add(operation: str, mode: str, count: int = 1, **extra: Any) -> None:
        body = {"vendor": "livevox", "operation": operation, "mode": mode, "count": count, **extra}
        requests.post(f"{sandbox_url}/_sandbox/faults", json=body, timeout=5).raise_for_status()

    return add


@pytest.fixture
def clear_faults(sandbox_url: str) -> Callable[[], None]:
    def clear() -> None:
        requests.delete(f"{sandbox_url}/_sandbox/faults", timeout=5).raise_for_status()
        requests.delete(f"{sandbox_url}/_sandbox/calls", timeout=5).raise_for_status()

    return clear


def records(aws: Any, kind: str = "") -> list[dict[str, Any]]:
    """Every item DynamoDB holds (expired or not), decoded; only ``lvx#<kind>#`` ones when kind is given."""
    items = [{k: _deserializer.deserialize(v) for k, v in item.items()} for item in aws.items()]
    return [item for item in items if item["pk"].startswith(f"lvx#{kind}#" if kind else "")]
