"""The whole local stack in one process tree: moto's server, the vendor sandboxes, the functions and the HTTP API.

``Stack(...).start()`` is what ``make dev`` runs and what the e2e tests use (with ephemeral ports).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Self

from local import config, runtime, template
from local.apigateway import HttpApi
from local.aws import create_table, seed_secrets

if TYPE_CHECKING:
    from local.sandbox.server import Credentials

_LOG = logging.getLogger("local.stack")
_READY_SECONDS = 60.0  # a cold moto import or handler import on a busy machine
_GRACE_SECONDS = 5.0  # for moto's server to stop before it is terminated


def _serve_moto(host: str, port: int, conn: Connection) -> None:
    """Child process: moto's server until the parent says stop or goes away."""
    from moto.server import ThreadedMotoServer

    from local.moto_atomic import make_dynamodb_atomic

    make_dynamodb_atomic()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if port:
        # ThreadedMotoServer.start() waits forever when its port is taken; fail with a message instead.
        try:
            socket.create_server((host, port)).close()
        except OSError as exc:
            conn.send(("error", f"DynamoDB port {port} on {host}: {os.strerror(exc.errno or 0)}"))
            return
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    conn.send(("ok", server.get_host_and_port()[1]))
    try:
        conn.recv()
    except EOFError:
        pass  # the parent is gone
    server.stop()


class MotoServer:
    """moto's ``ThreadedMotoServer`` in a child process.

    moto's backends are process-global: ``mock_aws`` or ``/moto-api/reset`` anywhere else in this process (tests do
    both) would otherwise wipe the stack's table.
    """

    def __init__(self, host: str, port: int) -> None:
        context = get_context("spawn")
        self._host = host
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve_moto, args=(host, port, child), name="local-moto", daemon=True)
        self._process.start()
        child.close()
        self.url = ""

    def wait_ready(self, timeout: float = _READY_SECONDS) -> str:
        """The server's URL once it listens; raises if it could not start."""
        if not self._conn.poll(timeout):
            raise TimeoutError(f"moto's server did not start within {timeout:.0f} s")
        try:
            status, value = self._conn.recv()
        except EOFError:
            self._process.join(1)
            raise RuntimeError(f"moto's server process exited (code {self._process.exitcode})") from None
        if status != "ok":
            raise OSError(value)
        self.url = f"http://{self._host}:{value}"
        return self.url

    def stop(self) -> None:
        try:
            self._conn.send("stop")
        except OSError:
            pass  # already gone
        self._process.join(_GRACE_SECONDS)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(1)
        self._conn.close()


def aws_endpoints(url: str) -> dict[str, str]:
    """botocore's per-service endpoint variables (``AWS_ENDPOINT_URL_<service id>``): both services at ``url``."""
    # The service id of Secrets Manager has a space: the variable is ..._SECRETS_MANAGER, not ..._SECRETSMANAGER.
    return {"AWS_ENDPOINT_URL_DYNAMODB": url, "AWS_ENDPOINT_URL_SECRETS_MANAGER": url}


def function_timeout(logical_id: str) -> float:
    """The function's ``Timeout`` (seconds) from the template, Globals merged; Lambda's default is 3."""
    tpl = template.cached()
    default = tpl.get("Globals", {}).get("Function", {}).get("Timeout", 3)
    return float(tpl["Resources"][logical_id]["Properties"].get("Timeout", default))


class Stack:
    """moto (DynamoDB, Secrets Manager), the vendor sandboxes, one worker pool per function and the HTTP API.

    Ports: ``None`` = from the environment (``config.Ports.from_env()``), ``0`` = a free one. ``secrets`` (logical id ->
    value) and ``sandbox_credentials`` replace the demo ones (secret canaries); ``worker_log`` collects everything the
    function workers print.
    """

    def __init__(
        self,
        api_port: int | None = None,
        dynamodb_port: int | None = None,
        sandbox_port: int | None = None,
        artifact: str | None = None,
        parameter_overrides: dict[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        secrets: dict[str, dict] | None = None,
        sandbox_credentials: Credentials | None = None,
        worker_log: str | os.PathLike[str] | None = None,
    ) -> None:
        defaults = config.Ports.from_env()
        self.ports = config.Ports(
            api=defaults.api if api_port is None else api_port,
            dynamodb=defaults.dynamodb if dynamodb_port is None else dynamodb_port,
            sandbox=defaults.sandbox if sandbox_port is None else sandbox_port,
        )
        self.host = host
        self.artifact = artifact or runtime.artifact_kind()
        self.parameter_overrides = dict(parameter_overrides or {})
        self.secrets = secrets or config.DEMO_SECRETS
        self.sandbox_credentials = sandbox_credentials
        self.worker_log = os.fspath(worker_log) if worker_log is not None else None
        self.functions = template.functions(template.cached())
        self.environments: dict[str, dict[str, str]] = {}
        self.pools: dict[str, runtime.FunctionPool] = {}
        self.sandbox: Any = None  # local.sandbox.server.SandboxServer once started
        self.api: HttpApi | None = None
        self._moto: MotoServer | None = None
        self._pools_lock = threading.Lock()
        self._stopped = False

    # --- addresses ---------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        assert self.api is not None, "start() the stack first"
        return self.api.url

    @property
    def sandbox_url(self) -> str:
        assert self.sandbox is not None, "start() the stack first"
        return self.sandbox.url

    @property
    def dynamodb_url(self) -> str:
        """moto's server itself: what tests use to look at the table, never faulted."""
        assert self._moto is not None and self._moto.url, "start() the stack first"
        return self._moto.url

    @property
    def aws_url(self) -> str:
        """The functions' AWS endpoint: the sandboxes' AWS fault proxy in front of moto's server."""
        assert self.sandbox is not None and self.sandbox.aws is not None, "start() the stack first"
        return self.sandbox.aws.url

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on the stack's moto server (fake credentials)."""
        import boto3

        # boto3-stubs' overloads take only a literal service name, not a str chosen by the caller.
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.dynamodb_url,
            region_name=config.REGION,
            aws_access_key_id=config.FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=config.FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=config.FAKE_AWS_ENV["AWS_SESSION_TOKEN"],
        )

    # --- life cycle --------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start everything, in dependency order; on failure, stop what started and re-raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        from local.sandbox.server import SandboxServer

        self._moto = MotoServer(self.host, self.ports.dynamodb)
        # Both ports are taken now, so a port in use fails the start at once; the API answers once warm.
        with self._binding("API", self.ports.api):
            api = HttpApi(
                self.invoke,
                template.routes(template.cached()),
                host=self.host,
                port=self.ports.api,
                parameters=self.parameter_overrides,
            )
        self.api = api
        with self._binding("sandbox", self.ports.sandbox):
            self.sandbox = SandboxServer(
                host=self.host, port=self.ports.sandbox, credentials=self.sandbox_credentials
            ).start()
        self._moto.wait_ready()
        create_table(self.client("dynamodb"))
        seed_secrets(self.client("secretsmanager"), self.secrets)
        # The functions reach AWS through the fault proxy, so `POST /_sandbox/faults` can fail their requests.
        endpoints = aws_endpoints(self.sandbox.start_aws_proxy(self.dynamodb_url))
        self.environments = {
            logical_id: {**env, **endpoints, **config.FAKE_AWS_ENV}
            for logical_id, env in config.function_environments(self.sandbox_url, self.parameter_overrides).items()
        }
        self.pools = {logical_id: self._new_pool(logical_id) for logical_id in self.functions}
        with ThreadPoolExecutor(max_workers=len(self.pools)) as warmers:
            list(warmers.map(self._warm, self.pools))
        api.start()
        _LOG.info(
            "local stack up: API %s, DynamoDB %s (functions through %s), sandboxes %s (%s artifact)",
            self.api_url,
            self.dynamodb_url,
            self.aws_url,
            self.sandbox_url,
            self.artifact,
        )

    @contextmanager
    def _binding(self, what: str, port: int) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise OSError(f"{what} port {port} on {self.host}: {os.strerror(exc.errno or 0)}") from exc

    def _new_pool(self, logical_id: str) -> runtime.FunctionPool:
        return runtime.FunctionPool(
            self.functions[logical_id],
            self.environments[logical_id],
            artifact=self.artifact,
            timeout=function_timeout(logical_id),
            log_file=self.worker_log,
        )

    def _warm(self, logical_id: str) -> None:
        try:
            self.pools[logical_id].warm()
        except Exception as exc:
            # Like a Lambda whose code does not import: the stack comes up, that function's routes answer 502.
            _LOG.error(
                "%s did not load (%s: %s); its routes will fail until it does", logical_id, type(exc).__name__, exc
            )

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Run ``event`` through the function's worker pool, as Lambda runs it in a container (a worker that
        times out or dies is replaced by the pool, as Lambda replaces a container)."""
        return self.pools[logical_id].invoke(event)

    def stop(self) -> None:
        """Stop the API, the workers, the sandboxes and moto (idempotent)."""
        with self._pools_lock:
            if self._stopped:
                return
            self._stopped = True
        if self.api is not None:
            self.api.stop()
        for pool in self.pools.values():
            pool.close()
        if self.sandbox is not None:
            self.sandbox.stop()
        if self._moto is not None:
            self._moto.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
