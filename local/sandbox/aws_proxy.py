"""The AWS side of the sandboxes: a forwarding proxy in front of moto's server that counts and faults AWS requests.

The functions' botocore endpoint (`AWS_ENDPOINT_URL`) is this proxy. Each request's operation comes from its
`X-Amz-Target` header; a fault planned for it (`POST /_sandbox/faults {"vendor": "dynamodb", ...}`) answers the
way the real service fails, every other request goes to moto unchanged. Counters and faults are the sandboxes'.
"""

from __future__ import annotations

import json
import logging
import uuid
import zlib
from dataclasses import dataclass
from functools import cache
from typing import Self, assert_never
from urllib.parse import urlsplit

import urllib3
from werkzeug.wrappers import Request, Response

from local.sandbox.core import CallCounter, Fault, FaultMode, FaultPlan
from local.serving import DropConnection, HttpServer

_LOG = logging.getLogger("local.sandbox.aws")
# DynamoDB's largest request (BatchWriteItem, TransactWriteItems) is 16 MB.
MAX_BODY_BYTES = 16 * 1024 * 1024
_HOP_BY_HOP = {"connection", "content-length", "keep-alive", "transfer-encoding", "expect", "date", "server"}
AWS_MODES = frozenset({FaultMode.THROTTLE, FaultMode.ERROR_500, FaultMode.TIMEOUT, FaultMode.RESET})


@dataclass(frozen=True)
class AwsService:
    """One AWS service as the proxy knows it: its name in faults and counters, its wire protocol, its failures."""

    name: str  # botocore's service name, also the fault's "vendor"
    target_prefix: str  # X-Amz-Target is "<prefix>.<Operation>"
    content_type: str  # awsJson 1.0 or 1.1, as the service answers
    throttle: tuple[str, str]  # (__type, message) of its throttling refusal, HTTP 400
    server_error: tuple[str, str]  # (__type, message) of its internal error, HTTP 500
    checksum: bool = False  # DynamoDB signs each answer body with x-amz-crc32, and botocore checks it

    def operations(self) -> frozenset[str]:
        """Every operation of the service, from botocore's model."""
        return _operations(self.name)


@cache
def _operations(service: str) -> frozenset[str]:
    import botocore.session

    return frozenset(botocore.session.get_session().get_service_model(service).operation_names)


SERVICES: dict[str, AwsService] = {
    service.name: service
    for service in (
        AwsService(
            "dynamodb",
            "DynamoDB_20120810",
            "application/x-amz-json-1.0",
            # DynamoDB API reference, "Common errors" and each operation's errors: throttling is HTTP 400.
            throttle=(
                "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded. "
                "Consider increasing your provisioning level with the UpdateTable API.",
            ),
            # DynamoDB API reference, InternalServerError: "An error occurred on the server side", HTTP 500.
            server_error=("com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error"),
            checksum=True,
        ),
        AwsService(
            "secretsmanager",
            "secretsmanager",
            "application/x-amz-json-1.1",
            # AWS common errors: ThrottlingException, "Rate exceeded", HTTP 400.
            throttle=("ThrottlingException", "Rate exceeded"),
            # Secrets Manager API reference: its 500 is InternalServiceError (botocore's model names no other).
            server_error=("InternalServiceError", "An error occurred on the server side."),
        ),
    )
}
_BY_TARGET = {service.target_prefix: service for service in SERVICES.values()}


def operation_of(target: str | None) -> tuple[AwsService, str] | None:
    """The service and operation an `X-Amz-Target` header names, when it is one of ours."""
    prefix, _, operation = (target or "").partition(".")
    service = _BY_TARGET.get(prefix)
    return (service, operation) if service is not None and operation else None


def faulted(service: AwsService, fault: Fault) -> Response:
    """The service's answer to a faulted request; raises DropConnection for the modes that answer nothing."""
    match fault.mode:
        case FaultMode.TIMEOUT:
            raise DropConnection(reset=False, hold=fault.seconds)
        case FaultMode.RESET:
            raise DropConnection(reset=True)
        case FaultMode.THROTTLE:
            return _error(service, 400, *service.throttle)
        case FaultMode.ERROR_500:
            return _error(service, 500, *service.server_error)
        case FaultMode.RATE_LIMIT | FaultMode.GARBAGE:
            raise ValueError(f"{fault.mode} is a vendor fault, not an AWS one")  # refused by the control route
        case _:
            assert_never(fault.mode)


def _error(service: AwsService, status: int, error_type: str, message: str) -> Response:
    body = json.dumps({"__type": error_type, "message": message}).encode("utf-8")
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if service.checksum:
        headers["x-amz-crc32"] = str(zlib.crc32(body))
    return Response(body, status, headers=headers, content_type=service.content_type)


class AwsProxy:
    """The proxy on a loopback port (`port=0` picks a free one), forwarding to moto's server at `upstream`."""

    def __init__(
        self, upstream: str, calls: CallCounter, faults: FaultPlan, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream = upstream
        self.calls = calls
        self.faults = faults
        self._pool = urllib3.HTTPConnectionPool(
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            maxsize=32,
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=5, read=60),
        )
        self._server = HttpServer(
            self.answer, host=host, port=port, name="authhooks-aws-proxy", max_body=MAX_BODY_BYTES
        )

    @property
    def url(self) -> str:
        return self._server.url

    def answer(self, request: Request) -> Response:
        """Count the request, then fault it or forward it."""
        named = operation_of(request.headers.get("X-Amz-Target"))
        if named is not None:
            service, operation = named
            self.calls.record(f"{service.name}.{operation}")
            fault = self.faults.take(service.name, operation)
            if fault is not None:
                _LOG.info("%s.%s -> %s (fault)", service.name, operation, fault.mode)
                return faulted(service, fault)
        return self._forward(request)

    def _forward(self, request: Request) -> Response:
        headers = {name: value for name, value in request.headers.items() if name.lower() not in _HOP_BY_HOP}
        target = request.environ.get("RAW_URI") or request.full_path
        try:
            answer = self._pool.urlopen(
                request.method, target, body=request.get_data(), headers=headers, redirect=False, preload_content=True
            )
        except urllib3.exceptions.HTTPError as exc:
            # moto is gone or hung: the client sees what a dead endpoint gives it.
            _LOG.warning("moto's server at %s did not answer: %s", self.upstream, exc)
            raise DropConnection(reset=True) from exc
        kept = [(name, value) for name, value in answer.headers.items() if name.lower() not in _HOP_BY_HOP]
        return Response(answer.data, answer.status, headers=kept)

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving (idempotent); requests held by a timeout fault are let go."""
        self._server.stop()
        self._pool.close()
