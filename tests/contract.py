"""The API contract's promises the tests hold the functions to, stated once (docs/api.md, "Errors")."""

from __future__ import annotations

from typing import NamedTuple


class Promise(NamedTuple):
    """What a caller gets: status, problem code, and whether a `Retry-After` comes with it."""

    status: int
    code: str
    retry_after: bool


# Sandbox fault mode (a vendor failing that way, after the client's retries) -> the answer docs/api.md promises.
VENDOR_FAULT_ANSWERS: dict[str, Promise] = {
    "timeout": Promise(504, "vendor_timeout", False),
    "error_500": Promise(503, "vendor_unavailable", True),
    "rate_limit": Promise(503, "vendor_rate_limited", True),
    "garbage": Promise(502, "vendor_rejected", False),
    "reset": Promise(503, "vendor_unavailable", True),
}
