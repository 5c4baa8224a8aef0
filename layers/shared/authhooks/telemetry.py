"""Observability singletons (Powertools Logger and Metrics) and the log redaction every line goes through."""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

if TYPE_CHECKING:
    from aws_lambda_powertools.logging.types import LogRecord

_MIN_SECRET_LENGTH = 6
_REDACTED = "***"


class Redactor:
    """Known secret values (vendor keys, passwords, tokens) to blank out of anything we log."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deployment: set[str] = set()
        # Per thread: one Lambda container serves one request at a time, but tests and the local
        # stack may run several handlers in threads of one process.
        self._local = threading.local()

    @property
    def _request(self) -> set[str]:
        if not hasattr(self._local, "values"):
            self._local.values = set()
        values: set[str] = self._local.values
        return values

    def add_deployment_secrets(self, values: Iterable[Any]) -> None:
        """Remember secret values for the life of the container (from the secret store)."""
        with self._lock:
            self._deployment.update(_leaves(values))

    def add_request_secrets(self, *values: Any) -> None:
        """Remember values a caller sent (passwords, tokens) until this thread's invocation ends."""
        self._request.update(_leaves(values))

    def end_request(self) -> None:
        self._request.clear()

    def scrub(self, text: str) -> str:
        with self._lock:
            values = self._deployment | self._request
        # Longest first, so a secret containing another is blanked whole.
        for value in sorted(values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, _REDACTED)
            escaped = json.dumps(value)[1:-1]
            if escaped != value and escaped in text:
                text = text.replace(escaped, _REDACTED)
        return text


def _leaves(values: Any) -> set[str]:
    """Every string of a nested structure long enough to be a secret."""
    found: set[str] = set()
    stack = [values]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(item) >= _MIN_SECRET_LENGTH:
                found.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
    return found


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter with every known secret blanked from the final line."""

    def __init__(self, redactor: Redactor, **kwargs: Any) -> None:
        self.redactor = redactor
        super().__init__(**kwargs)

    def serialize(self, log: LogRecord) -> str:
        return self.redactor.scrub(super().serialize(log))


redactor = Redactor()
logger = Logger(logger_formatter=RedactingFormatter(redactor))
metrics = Metrics()

# A route that publishes no metric (a 404, a validation error) is normal here, not worth a warning line.
warnings.filterwarnings("ignore", message="No application metrics to publish")
