"""The AWS calls each function's code makes while the tests run: what its IAM role must allow, no more.

A botocore handler (registered for every session, the way moto registers its own) notes, for each DynamoDB
and Secrets Manager call, which function made it (the function package on the call stack), the operation, and
the item key or secret it named. The template test compares this record with each role after the SAM transform.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Any

from botocore import handlers

from local import template


@dataclass(frozen=True)
class Call:
    function: str  # logical id, e.g. LiveVoxLoginFunction
    service: str  # "dynamodb" or "secretsmanager"
    operation: str  # GetItem, PutItem, GetSecretValue, ...
    target: str  # the item key (pk) or the secret id


_PACKAGES = {fn.module.split(".", 1)[0]: logical_id for logical_id, fn in template.functions(template.cached()).items()}
_lock = threading.Lock()
calls: set[Call] = set()


def _calling_function() -> str | None:
    """The function whose code is on the stack (None for a test driving the store or a client directly)."""
    frame = sys._getframe(2)
    while frame is not None:
        package = str(frame.f_globals.get("__name__", "")).split(".", 1)[0]
        if package in _PACKAGES:
            return _PACKAGES[package]
        frame = frame.f_back
    return None


def _keys(operation: str, params: dict[str, Any]) -> list[str]:
    """Every partition key a DynamoDB request names (single items and batches/transactions alike)."""
    found: list[str] = []
    stack: list[Any] = [params]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for name, value in item.items():
                if name in ("Key", "Item") and isinstance(value, dict) and isinstance(value.get("pk"), dict):
                    found.append(str(value["pk"].get("S")))
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found or [f"<no key in {operation}>"]


def _record(params: dict[str, Any], model: Any, **_: Any) -> None:
    function = _calling_function()
    if function is None:
        return
    service = model.service_model.service_name
    if service == "dynamodb":
        targets = _keys(model.name, params)
    else:
        targets = [str(params.get("SecretId"))]
    with _lock:
        calls.update(Call(function, service, model.name, target) for target in targets)


def install() -> None:
    """Record from every botocore session created from now on (boto3's default one included)."""
    for event in ("before-parameter-build.dynamodb", "before-parameter-build.secrets-manager"):
        entry = (event, _record)
        if entry not in handlers.BUILTIN_HANDLERS:
            handlers.BUILTIN_HANDLERS.append(entry)
