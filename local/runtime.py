"""Load a function's handler the way Lambda does, and run it in worker processes like Lambda containers.

Lambda puts the function's code first on ``sys.path`` and mounts the layer at ``/opt/python``;
``artifact="build"`` loads both from ``sam build``'s output, ``"source"`` from the repository.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection
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

INIT_SECONDS = 60.0  # a cold import on a busy machine; Lambda's own init limit is 10 s, ours must not flake


class FunctionTimeout(Exception):
    """The handler ran past the function's timeout; its worker was stopped (Lambda discards that container)."""


class FunctionError(Exception):
    """The handler raised, or the code did not import: the worker's exception, as text."""


class WorkerDied(Exception):
    """The worker process exited in the middle of a request (a crash, ``os._exit``, memory)."""


_worker: dict[str, Any] = {}


def _start_worker(
    fn: template.Function, env: dict[str, str], artifact: str, timeout: float, log_file: str | None = None
) -> None:
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


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker loads and how: the function, its environment, the artifact, its timeout, its log file."""

    fn: template.Function
    env: dict[str, str]
    artifact: str
    timeout: float
    log_file: str | None = None


def _serve(conn: Connection, spec: WorkerSpec) -> None:
    """Child process: load the handler once, then answer one event at a time until the pipe closes."""
    try:
        _start_worker(spec.fn, spec.env, spec.artifact, spec.timeout, spec.log_file)
    except BaseException:
        conn.send(("error", traceback.format_exc()))
        return
    conn.send(("ready", None))
    while True:
        try:
            event = conn.recv()
        except (EOFError, OSError):
            return  # the pool is gone
        try:
            conn.send(("ok", _invoke_in_worker(event)))
        except BaseException:
            conn.send(("error", traceback.format_exc()))


class _Worker:
    """One worker process and the pipe to it."""

    def __init__(self, spec: WorkerSpec) -> None:
        context = get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, spec), name=f"lambda-{spec.fn.logical_id}", daemon=True
        )
        self.process.start()
        child.close()
        self.ready = False

    def _receive(self, seconds: float) -> Any:
        if not self.conn.poll(seconds):
            raise FunctionTimeout(f"no answer within {seconds:g} s")
        try:
            status, value = self.conn.recv()
        except (EOFError, OSError):
            raise WorkerDied(f"worker exited (code {self.process.exitcode})") from None
        if status == "error":
            raise FunctionError(value)
        return value

    def call(self, event: dict[str, Any], timeout: float) -> Any:
        """The handler's result; the init phase has its own, longer, budget."""
        if not self.ready:
            self._receive(INIT_SECONDS)
            self.ready = True
        self.conn.send(event)
        return self._receive(timeout)

    def stop(self) -> None:
        """End the process now (a hung handler never returns by itself)."""
        self.conn.close()
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2)
            if self.process.is_alive():
                self.process.kill()
        self.process.join(2)


class FunctionPool:
    """Up to ``max_workers`` processes for one function, started on demand as concurrent requests need them.

    A worker that times out or dies is stopped and forgotten; the next request starts a fresh one, as Lambda
    replaces a container.
    """

    def __init__(
        self,
        fn: template.Function,
        env: dict[str, str],
        *,
        artifact: str | None = None,
        max_workers: int = 8,
        timeout: float = 15.0,
        log_file: str | None = None,
    ) -> None:
        self.fn = fn
        self.timeout = timeout
        self._spec = WorkerSpec(fn, env, artifact or artifact_kind(), timeout, log_file)
        self._slots = threading.BoundedSemaphore(max_workers)
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._closed = False

    def _take(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.fn.logical_id}'s pool is closed")
            if self._idle:
                return self._idle.pop()
            worker = _Worker(self._spec)
            self._all.add(worker)
            return worker

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.stop()

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(worker)
                return
        self._discard(worker)

    def warm(self) -> None:
        """Start one worker and load the handler, so the first request is not a cold start."""
        self.invoke({"__warmup__": True})

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """The handler's result for ``event``; FunctionTimeout, FunctionError or WorkerDied when it has none."""
        with self._slots:
            worker = self._take()
            try:
                result = worker.call(event, self.timeout)
            except (FunctionTimeout, WorkerDied):
                self._discard(worker)
                raise
            except FunctionError:
                # The code did not import: Lambda retries the init in a fresh container on the next request.
                if not worker.ready:
                    self._discard(worker)
                else:
                    self._give_back(worker)
                raise
            self._give_back(worker)
            return result

    def pids(self) -> set[int]:
        """The worker processes alive now."""
        with self._lock:
            return {w.process.pid for w in self._all if w.process.pid is not None and w.process.is_alive()}

    def close(self) -> None:
        """Stop every worker (idempotent); a request in flight fails."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
        for worker in workers:
            worker.stop()
