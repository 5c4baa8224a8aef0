"""The invocation's time budget: every wait (store, secrets, vendors, single flight) fits in what Lambda has left.

``lambda_entry`` starts the budget from the context's remaining time; code that waits asks ``remaining()``.
Outside an invocation (tests calling logic directly) the budget is the function timeout.
"""

from __future__ import annotations

import threading
import time

# What we keep back to answer (render, log, flush metrics) once a wait gives up.
RESERVE_SECONDS = 1.0
_DEFAULT_SECONDS = 25.0

_local = threading.local()


def start(remaining_seconds: float | None) -> None:
    """Begin an invocation with this much time left (None: the default function timeout)."""
    seconds = _DEFAULT_SECONDS if remaining_seconds is None or remaining_seconds <= 0 else remaining_seconds
    _local.deadline = time.monotonic() + seconds - RESERVE_SECONDS


def remaining() -> float:
    """Seconds this invocation may still spend waiting (never negative)."""
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return _DEFAULT_SECONDS - RESERVE_SECONDS
    return max(0.0, deadline - time.monotonic())


def cap(seconds: float, floor: float = 0.05) -> float:
    """``seconds``, or less when the invocation has less left (at least ``floor``, so a call still fails fast)."""
    return max(floor, min(seconds, remaining()))
