"""The calls a LoudVoice test makes: our route, and the sandbox's own view of sessions, faults and counters."""

from __future__ import annotations

from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from local.sandbox import loudvoice
from local.sandbox.client import SandboxClient
from tests.conftest import Api, AwsBackend, Reply, sandbox_calls

START = "/loudvoice/sessions"
PUBLIC_KEY = loudvoice.PUBLIC_KEY
PRIVATE_KEY = loudvoice.PRIVATE_KEY
CANARIES = (PUBLIC_KEY, PRIVATE_KEY)
BODY_KEYS = {"session_token", "expires_at", "expires_in", "author_created", "cached", "author"}
AUTHOR_KEYS = {"author_token", "author_reference", "name", "email", "description", "picture_url", "website_url"}
JOHN = {"author_reference": "USER-1", "name": "John Doe", "email": "john@example.com"}


def start(api: Api, author: Any, **extra: Any) -> Reply:
    """``PUT /loudvoice/sessions`` with ``{"author": author, **extra}``."""
    return api.put(START, json={"author": author, **extra})


def session_path(token: str) -> str:
    return f"{START}/{token}"


def lv_calls(url: str) -> dict[str, int]:
    """The sandbox's LoudVoice counters only (``session_start``, ``session_delete``, ...)."""
    return {k.split(".", 1)[1]: v for k, v in sandbox_calls(url).items() if k.startswith("loudvoice.")}


def vendor_expiration(url: str, author_token: str, session_token: str) -> str:
    """The sandbox's ``date_expiration`` of a live session, as docs/api.md's ISO 8601 UTC."""
    answer = requests.get(
        f"{url}/loudvoice/loudvoice/authors/sessions.json",
        params={"filters": f"author_token:eq:{author_token}"},
        auth=CANARIES,
        timeout=5,
    )
    answer.raise_for_status()
    entries = answer.json()["response"]["result"]["data"]["author_sessions"]["entries"]
    found = next(e for e in entries if e["author_session_token"] == session_token)
    return parsedate_to_datetime(found["date_expiration"]).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def mint_identity(url: str) -> str:
    return SandboxClient(url).mint_loudvoice_identity()


def add_fault(url: str, mode: str, operation: str | None = None, count: int = 1, seconds: float | None = None) -> None:
    SandboxClient(url).fault("loudvoice", operation, mode, count, seconds)


def assert_no_canary(log_lines: list[str], *texts: str | bytes) -> None:
    """Neither site key appears in any log line nor in any of ``texts`` (response bodies, headers)."""
    joined = "\n".join(log_lines) + "\n".join(t.decode() if isinstance(t, bytes) else t for t in texts)
    for canary in CANARIES:
        assert canary not in joined


def keys_of(aws: AwsBackend) -> list[str]:
    return [item["pk"]["S"] for item in aws.items()]
