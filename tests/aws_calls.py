"""The AWS calls each function's code makes while the tests run: what its IAM role must allow, no more.

A botocore handler (registered for every session, the way moto registers its own) notes, for each DynamoDB
and Secrets Manager call, which function made it (the function package on the call stack), the operation, and
the item key or secret it named. The template test compares this record with each role after the SAM transform.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
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


# `make test` runs the suite on parallel workers (pytest-xdist), then the ``after_suite`` judges in a second pytest
# run. The folder this variable names receives each process's record when its session ends (the calls and the
# tests that ran), so that the judges read the whole run's record, not one worker's share of it.
RECORD_DIR = "AUTHHOOKS_CALL_RECORD_DIR"


def record_dir() -> Path | None:
    folder = os.environ.get(RECORD_DIR)
    return Path(folder) if folder else None


def save_record(ran: list[str]) -> None:
    """This process's calls and the tests it ran, written whole (a reader never sees half a file)."""
    folder = record_dir()
    if folder is None:
        return
    with _lock:
        record = {"calls": sorted((asdict(call) for call in calls), key=json.dumps), "ran": sorted(ran)}
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}.json"
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(record))
    partial.replace(target)


def whole_run() -> tuple[set[Call], set[str]]:
    """Every call of the run and the ids of the tests that made them: this process's, and every record left in
    the record folder by the earlier processes of the same run."""
    with _lock:
        whole = set(calls)
    ran: set[str] = set()
    folder = record_dir()
    for path in sorted(folder.glob("*.json")) if folder else []:
        record = json.loads(path.read_text())
        whole.update(Call(**entry) for entry in record["calls"])
        ran.update(record["ran"])
    return whole, ran
