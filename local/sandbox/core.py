"""What the three vendor sandboxes share: request/response types, errors, clock, counters, faults."""

from __future__ import annotations

import json
import re
import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs

JSON_TYPE = "application/json"

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime."""


class SandboxClock:
    """UTC wall clock that tests can move forward; callable like any `Clock`."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta | float) -> None:
        """Move the clock forward by `delta` (a timedelta or seconds)."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            self._offset += step

    def reset(self) -> None:
        """Back to the real time."""
        with self._lock:
            self._offset = timedelta(0)


@dataclass(frozen=True)
class Request:
    """One HTTP request as a vendor sees it; `path` is relative to the vendor's prefix."""

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # keys lower-cased
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """A header value by case-insensitive name."""
        return self.headers.get(name.lower())

    def query_value(self, name: str) -> str | None:
        """The first value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8")) if self.body.strip() else None

    def form(self) -> dict[str, list[str]]:
        """The body parsed as application/x-www-form-urlencoded."""
        return parse_qs(self.body.decode("utf-8", errors="replace"), keep_blank_values=True)


@dataclass
class Response:
    """One HTTP answer: status, raw body and headers."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
        """A JSON answer."""
        return cls(
            status,
            json.dumps(payload).encode("utf-8"),
            {"Content-Type": JSON_TYPE, **(headers or {})},
        )

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        """An answer without a body."""
        return cls(status)


class VendorError(Exception):
    """A vendor's refusal: HTTP status, the vendor's code (if it has codes), message, extra headers.

    The owning service renders it in that vendor's exact error shape.
    """

    def __init__(
        self, status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})


def render_plain_error(error: VendorError) -> Response:
    """The sandbox's own error shape, for control routes and unrouted paths."""
    return Response.json(error.status, {"error": error.code or "error", "message": error.message}, error.headers)


Handler = Callable[[Request, re.Match[str]], Response]


@dataclass(frozen=True)
class Route:
    """One method + path pattern (full match, relative to the service prefix) and its operation."""

    method: str
    pattern: str
    operation: str
    handler: Handler

    def match(self, path: str) -> re.Match[str] | None:
        """The match of `path` against this route's pattern, or None."""
        return re.fullmatch(self.pattern, path)


class Service(ABC):
    """The wire layer of one service mounted under `/<name>`: routes in, vendor-shaped answers out."""

    name: str

    @property
    def prefix(self) -> str:
        """The path prefix the service is mounted under."""
        return f"/{self.name}"

    @abstractmethod
    def routes(self) -> Sequence[Route]:
        """Every route the service answers."""

    def operations(self) -> frozenset[str]:
        """The names of the service's operations."""
        return frozenset(route.operation for route in self.routes())

    def render_error(self, error: VendorError, request: Request) -> Response:
        """`error` in this service's error shape."""
        return render_plain_error(error)

    def on_call(self, operation: str) -> dict[str, str]:
        """Note one received call; returns headers every answer to it carries."""
        return {}


class CallCounter:
    """How many calls each `<vendor>.<operation>` received."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, name: str) -> None:
        """Count one call."""
        with self._lock:
            self._counts[name] += 1

    def snapshot(self) -> dict[str, int]:
        """Counters above zero, sorted by name."""
        with self._lock:
            return {name: count for name, count in sorted(self._counts.items()) if count > 0}

    def clear(self) -> None:
        """Back to zero."""
        with self._lock:
            self._counts.clear()


class FaultMode(StrEnum):
    """How a faulted call fails."""

    TIMEOUT = "timeout"
    ERROR_500 = "error_500"
    RATE_LIMIT = "rate_limit"
    GARBAGE = "garbage"
    RESET = "reset"
    THROTTLE = "throttle"  # AWS services only: their own throttling refusal


VENDOR_MODES = frozenset(FaultMode) - {FaultMode.THROTTLE}


RETRY_AFTER_SECONDS = 2
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_TIMEOUT_SECONDS = 60.0


@dataclass
class Fault:
    """The next `remaining` calls to `vendor` (one operation, or all when None) fail by `mode`.

    `vendor` is a sandbox vendor or an AWS service (`dynamodb`, `secretsmanager`).
    """

    vendor: str
    operation: str | None
    mode: FaultMode
    remaining: int = 1
    seconds: float = DEFAULT_TIMEOUT_SECONDS

    def matches(self, vendor: str, operation: str) -> bool:
        """Whether this fault applies to a call of `vendor.operation`."""
        return self.remaining > 0 and self.vendor == vendor and self.operation in (None, operation)

    def as_dict(self) -> dict[str, Any]:
        """JSON form, as the control route echoes it."""
        return {
            "vendor": self.vendor,
            "operation": self.operation,
            "mode": str(self.mode),
            "count": self.remaining,
            "seconds": self.seconds,
        }

    @staticmethod
    def rate_limited() -> VendorError:
        """The quota refusal every vendor renders in its own shape."""
        return VendorError(
            429,
            "Too many requests",
            code="ERROR_REQUEST_LIMIT_REACHED",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    @staticmethod
    def server_error() -> VendorError:
        """The internal failure every vendor renders in its own shape."""
        return VendorError(500, "Internal server error (sandbox fault)", code="ERROR_UNKNOWN")


class FaultPlan:
    """Faults waiting to be spent, first added first used."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        """Queue a fault."""
        with self._lock:
            self._faults.append(fault)

    def take(self, vendor: str, operation: str) -> Fault | None:
        """Spend one call of the first fault matching `vendor.operation`, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(vendor, operation):
                    fault.remaining -= 1
                    self._faults = [f for f in self._faults if f.remaining > 0]
                    return fault
        return None

    def pending(self) -> list[Fault]:
        """Faults not yet spent."""
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        """Drop every fault."""
        with self._lock:
            self._faults.clear()
