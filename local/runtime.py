"""Load a function's handler the way Lambda does, and run it in worker processes like Lambda containers.

Lambda puts the function's code first on ``sys.path`` and mounts the layer at ``/opt/python``;
``artifact="build"`` loads both from ``sam build``'s output, ``"source"`` from the repository.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from local import template

BUILD_DIR = template.ROOT / ".aws-sam" / "build"
SOURCE_LAYER = template.ROOT / "layers" / "shared"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def artifact_kind() -> str:
    """``build`` (what Lambda will load; ``make test`` sets it) or ``source`` (the default for ``make dev``)."""
    kind = os.environ.get("AUTHHOOKS_ARTIFACT", "source")
    if kind not in ("build", "source"):
        raise ValueError(f"AUTHHOOKS_ARTIFACT must be build or source, not {kind!r}")
    return kind


def paths(fn: template.Function, artifact: str) -> tuple[Path, Path]:
    """The function's code directory and the layer's package root for an artifact kind."""
    if artifact == "build":
        code, layer = BUILD_DIR / fn.logical_id, BUILD_DIR / "SharedLayer" / "python"
        if not (code / fn.module_file).exists() or not layer.is_dir():
            raise FileNotFoundError(f"{code} or {layer} is missing: run `make build` (sam build) first")
        return code, layer
    return fn.code_uri, SOURCE_LAYER


# What the Lambda Python runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


def lambda_runtime_dir(target: Path) -> Path:
    """Fill ``target`` with links to only the packages the Lambda runtime ships (from this venv)."""

    target.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PACKAGES:
        source = Path(importlib.import_module(name).__file__ or "")
        source = source.parent if source.name == "__init__.py" else source
        link = target / source.name
        if not link.exists():
            link.symlink_to(source)
    return target


def put_first_on_path(*directories: Path) -> None:
    for directory in reversed(directories):
        text = str(directory)
        if text in sys.path:
            sys.path.remove(text)
        sys.path.insert(0, text)


def load_handler(fn: template.Function, artifact: str | None = None) -> Handler:
    """Import ``fn``'s handler by its dotted path, from its code directory and the layer, as Lambda does."""
    code, layer = paths(fn, artifact or artifact_kind())
    put_first_on_path(code, layer)
    return getattr(importlib.import_module(fn.module), fn.attribute)


def put_functions_on_path(artifact: str | None = None) -> None:
    """Every function's code directory and the layer on ``sys.path``: each function is one package."""
    fns = list(template.functions(template.cached()).values())
    directories = [paths(fn, artifact or artifact_kind()) for fn in fns]
    put_first_on_path(*[code for code, _ in directories], directories[0][1])


@dataclass
class LambdaContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: float = 15.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


# --- worker processes (one Lambda "container" each) ---------------------------------------------

_worker: dict[str, Any] = {}


def _start_worker(fn: template.Function, env: dict[str, str], artifact: str, timeout: float,
                  log_file: str | None = None) -> None:
    if log_file:
        # Everything the worker prints (the functions' log lines, tracebacks) goes to the file instead.
        descriptor = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(descriptor, 1)
        os.dup2(descriptor, 2)
        os.close(descriptor)
    os.environ.update(env)
    _worker["handler"] = load_handler(fn, artifact)
    _worker["name"] = fn.logical_id
    _worker["timeout"] = timeout


def _invoke_in_worker(event: dict[str, Any]) -> dict[str, Any]:
    if event.get("__warmup__"):
        return {}
    context = LambdaContext(function_name=_worker["name"], timeout_seconds=_worker["timeout"])
    return _worker["handler"](event, context)


class FunctionPool:
    """Up to ``max_workers`` processes for one function, started on demand as concurrent requests need them."""

    def __init__(self, fn: template.Function, env: dict[str, str], *, artifact: str | None = None,
                 max_workers: int = 8, timeout: float = 15.0, log_file: str | None = None) -> None:
        self.fn = fn
        self.timeout = timeout
        self.executor = ProcessPoolExecutor(
            max_workers=max_workers,
            mp_context=get_context("spawn"),
            initializer=_start_worker,
            initargs=(fn, env, artifact or artifact_kind(), timeout, log_file),
        )

    def warm(self) -> None:
        """Start one worker and load the handler, so the first request is not a cold start."""
        self.executor.submit(_invoke_in_worker, {"__warmup__": True}).result(timeout=60)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        # The handler's own timeout plus room for a cold start.
        return self.executor.submit(_invoke_in_worker, event).result(timeout=self.timeout + 30)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
