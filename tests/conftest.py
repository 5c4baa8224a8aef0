"""Shared fixtures: moto (in process), the vendor sandboxes on loopback, and handlers loaded like Lambda loads them."""

from __future__ import annotations

import json as jsonlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from local import config, runtime, template
from local.moto_atomic import make_dynamodb_atomic
from local.sandbox.client import SandboxClient
from tests import aws_calls

aws_calls.install()  # before any botocore session exists: every client the functions build records its calls

# Before anything builds a boto3 client: fake credentials, and no endpoint left over from a shell.
os.environ.update(config.FAKE_AWS_ENV)
for _name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL") or n == "AWS_PROFILE"]:
    del os.environ[_name]
# Powertools reads the namespace once, at import: the one the template gives the functions locally.
os.environ.setdefault(
    "POWERTOOLS_METRICS_NAMESPACE",
    template.resolve(
        template.cached()["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"],
        config.names(""),
    ),
)
make_dynamodb_atomic()  # in-process moto and the threaded moto server both serve from this process

ARTIFACT = runtime.artifact_kind()
# Each function is a package (its handler path is dotted): all of them and the layer, from the chosen artifact.
runtime.put_functions_on_path(ARTIFACT)

# Short vendor and AWS client timeouts, one retry per AWS request (botocore's backoff before each retry is what
# a throttle costs) and a short store-retry window, so that faults cost little wall time.
TEST_OVERRIDES = {
    "VendorReadTimeout": "1",
    "VendorConnectTimeout": "1",
    "LiveVoxLoginWaitSeconds": "4",
    "LiveVoxLeaseSeconds": "2",
    "StoreConnectTimeout": "0.5",
    "StoreReadTimeout": "1",
    "StoreRetries": "1",
    "SecretsConnectTimeout": "0.5",
    "SecretsReadTimeout": "1",
    "SecretsRetries": "1",
    "BazaarvoiceStoreRetrySeconds": "2",
}
# Requests botocore makes for one DynamoDB call that keeps failing: the first attempt and its retries.
STORE_ATTEMPTS = 1 + int(TEST_OVERRIDES["StoreRetries"])
# A timeout fault holds a request just past the longest AWS read timeout above: the client gives up first.
AWS_TIMEOUT_HOLD_SECONDS = (
    max(float(TEST_OVERRIDES["StoreReadTimeout"]), float(TEST_OVERRIDES["SecretsReadTimeout"])) + 0.5
)


# What each directory's tests need, as markers (pyproject.toml describes them): `make check` runs what needs no
# stack, browser or container (-m "not stack and not browser and not containers"); `make test` runs everything.
DIRECTORY_MARKERS = {
    "unit": ("unit",),
    "sandbox": ("sandbox",),
    "integration": ("integration",),
    "e2e": ("e2e", "stack"),
    "containers": ("containers", "stack"),
}
_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers by directory; tests marked ``after_suite`` judge what the whole session recorded: run them last."""
    for item in items:
        directory = Path(item.path).relative_to(_TESTS).parts[0]
        for name in DIRECTORY_MARKERS.get(directory, ()):
            item.add_marker(name)
    items.sort(key=lambda item: item.get_closest_marker("after_suite") is not None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Leave this process's AWS call record for the ``after_suite`` judges (`make test` runs them after the rest)."""
    if not hasattr(session.config, "workerinput") and session.config.pluginmanager.hasplugin("dsession"):
        return  # xdist's controlling process: its workers ran the tests and leave their own records
    aws_calls.save_record([item.nodeid for item in session.items if item.get_closest_marker("after_suite") is None])


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Any]:
    from local.sandbox.server import SandboxServer

    server = SandboxServer(host="127.0.0.1", port=0).start()
    yield server
    server.stop()


@pytest.fixture
def sandbox_url(sandbox: Any) -> str:
    SandboxClient(sandbox.url).reset()
    return sandbox.url


@pytest.fixture
def sandbox_client(sandbox_url: str) -> SandboxClient:
    """The controls of the session's sandboxes (reset for the test): faults, counters, latency, minting."""
    return SandboxClient(sandbox_url)


def sandbox_calls(url: str) -> dict[str, int]:
    return SandboxClient(url).calls()


@pytest.fixture
def aws() -> Iterator[Any]:
    """A fresh moto backend (in process) with the template's table and the vendor secrets seeded."""
    import boto3
    from moto import mock_aws

    from local import aws as provision

    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=config.REGION)
        secretsmanager = boto3.client("secretsmanager", region_name=config.REGION)
        provision.create_table(dynamodb)
        provision.seed_secrets(secretsmanager)
        yield AwsBackend(dynamodb, secretsmanager)


@dataclass
class AwsBackend:
    dynamodb: Any
    secretsmanager: Any

    def items(self) -> list[dict[str, Any]]:
        """Every item in the table, expired or not (what DynamoDB still holds)."""
        return self.dynamodb.scan(TableName=config.TABLE_NAME)["Items"]


class Clock:
    """A clock the test moves; starts at the real time."""

    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    event: dict[str, Any]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


class Api:
    """Calls the functions in process through real payload 2.0 events, routed from template.yaml."""

    def __init__(self) -> None:
        self.functions = template.functions(template.cached())
        self.routes = [r for fn in self.functions.values() for r in fn.routes]
        self.clock = Clock()

    def handler(self, logical_id: str) -> Any:
        return runtime.load_handler(self.functions[logical_id], ARTIFACT)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | str | None = None,
    ) -> Reply:
        from local import events

        headers = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json)
            headers.setdefault("Content-Type", "application/json")
        raw_query = query if isinstance(query, str) else urlencode(query or {})
        routed = events.routed_event(self.routes, method, path, raw_query=raw_query, headers=headers, body=body)
        assert routed, f"no route in template.yaml for {method} {path}"
        route, event = routed
        context = runtime.LambdaContext(function_name=route.function)
        result = self.handler(route.function)(event, context)
        status, header_list, raw = events.http_response(result)
        return Reply(status, dict(header_list), raw, event)

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Reply:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Reply:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.request("DELETE", path, **kw)


def _api(sandbox_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    for env in config.function_environments(sandbox_url, TEST_OVERRIDES).values():
        for key, value in env.items():
            if key != "POWERTOOLS_SERVICE_NAME":
                monkeypatch.setenv(key, value)
    from authhooks import settings, store

    settings.reset()
    store.token_store.cache_clear()
    client = Api()
    store.token_store().clock = client.clock
    yield client
    settings.reset()
    store.token_store.cache_clear()


@pytest.fixture
def api(aws: AwsBackend, sandbox_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The functions in process, each with its template environment, against moto in process and the sandbox."""
    yield from _api(sandbox_url, monkeypatch)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's HTTP server on a loopback port: real DynamoDB requests over sockets."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_server(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsBackend]:
    """A reset moto server with the template's table and the vendor secrets; boto3 pointed at it."""
    import boto3
    import requests

    from local import aws as provision

    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    dynamodb = boto3.client("dynamodb", region_name=config.REGION)
    secretsmanager = boto3.client("secretsmanager", region_name=config.REGION)
    provision.create_table(dynamodb)
    provision.seed_secrets(secretsmanager)
    yield AwsBackend(dynamodb, secretsmanager)


@pytest.fixture
def api_server(aws_server: AwsBackend, sandbox_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """Like ``api``, but DynamoDB and Secrets Manager are moto's HTTP server."""
    yield from _api(sandbox_url, monkeypatch)


@pytest.fixture(scope="session")
def aws_proxy(sandbox: Any, moto_server: str) -> str:
    """The sandboxes' AWS fault proxy in front of the session's moto server (its URL)."""
    return sandbox.start_aws_proxy(moto_server)


@pytest.fixture
def api_faults(
    aws_server: AwsBackend, aws_proxy: str, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Api]:
    """Like ``api_server``, but the functions' boto3 goes through the AWS fault proxy: plan AWS faults with
    ``sandbox_client.fault("dynamodb", "PutItem", "throttle", count=4)`` (each botocore attempt is one request),
    then call a route. ``aws_server``'s clients still reach moto directly, to look at the table unfaulted."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_proxy)
    yield from _api(sandbox_url, monkeypatch)


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every line the functions log during the test, rendered by the same (redacting) formatter as in Lambda."""
    import logging

    from authhooks.telemetry import logger

    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Capture()
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)
