"""AWS faults: the proxy in front of moto's server fails DynamoDB and Secrets Manager requests as the services do.

Real boto3 clients over loopback sockets, through the proxy to moto's HTTP server; faults planned with the
sandboxes' own control (`POST /_sandbox/faults`), each botocore attempt counted as one request.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.exceptions
import pytest
import requests
from botocore.config import Config

from local import config
from local.sandbox.client import SandboxClient
from local.sandbox.server import SandboxServer

TABLE = "faults"
SECRET = "faults/secret"
ATTEMPTS = 3  # every client here: botocore's standard mode, 3 attempts in all (2 retries)
READ_TIMEOUT = 1
HOLD_SECONDS = 2  # a timeout fault outlasts the clients' read timeout


@dataclass
class Aws:
    """The sandbox (controls), the proxy's URL, and clients through the proxy and straight to moto."""

    sandbox: SandboxClient
    proxy_url: str
    dynamodb: Any
    secretsmanager: Any
    moto_dynamodb: Any


def _client(service: str, url: str, attempts: int = ATTEMPTS) -> Any:
    retries: Any = {"mode": "standard", "total_max_attempts": attempts}
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=config.REGION,
        config=Config(retries=retries, read_timeout=READ_TIMEOUT, connect_timeout=1),
    )


@pytest.fixture
def aws(sandbox_server: SandboxServer, moto_server: str) -> Iterator[Aws]:
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    proxy_url = sandbox_server.start_aws_proxy(moto_server)
    moto_dynamodb = _client("dynamodb", moto_server)
    moto_dynamodb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    _client("secretsmanager", moto_server).create_secret(Name=SECRET, SecretString='{"k": "v"}')
    yield Aws(
        SandboxClient(sandbox_server.url),
        proxy_url,
        _client("dynamodb", proxy_url),
        _client("secretsmanager", proxy_url),
        moto_dynamodb,
    )


@dataclass(frozen=True)
class Call:
    """One AWS operation made through the proxy."""

    service: str
    operation: str
    make: Callable[[Aws], Any]


CALLS = {
    "dynamodb": Call(
        "dynamodb", "PutItem", lambda aws: aws.dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "written"}})
    ),
    "secretsmanager": Call(
        "secretsmanager", "GetSecretValue", lambda aws: aws.secretsmanager.get_secret_value(SecretId=SECRET)
    ),
}
# What botocore parses out of each refusal: (HTTP status, error code).
REFUSALS = {
    ("dynamodb", "throttle"): (400, "ProvisionedThroughputExceededException"),
    ("dynamodb", "error_500"): (500, "InternalServerError"),
    ("secretsmanager", "throttle"): (400, "ThrottlingException"),
    ("secretsmanager", "error_500"): (500, "InternalServiceError"),
}


@pytest.mark.parametrize(("service", "mode"), sorted(REFUSALS))
def test_a_refusal_reads_as_the_service_s_own_error(aws: Aws, service: str, mode: str) -> None:
    call = CALLS[service]
    aws.sandbox.fault(service, call.operation, mode, count=ATTEMPTS)

    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call.make(aws)

    status, code = REFUSALS[(service, mode)]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == ATTEMPTS - 1, "botocore retried it"
    assert aws.sandbox.calls() == {f"{service}.{call.operation}": ATTEMPTS}
    assert aws.sandbox.faults() == [], "exactly the planned requests consumed the fault"


@pytest.mark.parametrize("service", sorted(CALLS))
def test_reset_is_a_connection_error(aws: Aws, service: str) -> None:
    call = CALLS[service]
    aws.sandbox.fault(service, call.operation, "reset", count=ATTEMPTS)

    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        call.make(aws)

    assert aws.sandbox.calls() == {f"{service}.{call.operation}": ATTEMPTS}
    assert aws.sandbox.faults() == []


@pytest.mark.parametrize("service", sorted(CALLS))
def test_timeout_is_a_read_timeout(aws: Aws, service: str) -> None:
    call = CALLS[service]
    aws.sandbox.fault(service, call.operation, "timeout", count=ATTEMPTS, seconds=HOLD_SECONDS)
    started = time.monotonic()

    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        call.make(aws)

    assert time.monotonic() - started >= ATTEMPTS * READ_TIMEOUT
    assert aws.sandbox.calls() == {f"{service}.{call.operation}": ATTEMPTS}
    assert aws.sandbox.faults() == []


def test_a_fault_shorter_than_the_retries_is_survived_and_the_write_lands(aws: Aws) -> None:
    aws.sandbox.fault("dynamodb", "PutItem", "throttle", count=ATTEMPTS - 1)

    aws.dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "written"}})

    assert aws.sandbox.calls() == {"dynamodb.PutItem": ATTEMPTS}
    assert "Item" in aws.moto_dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "written"}})


def test_a_refused_write_writes_nothing(aws: Aws) -> None:
    aws.sandbox.fault("dynamodb", "PutItem", "error_500", count=ATTEMPTS)

    with pytest.raises(botocore.exceptions.ClientError):
        CALLS["dynamodb"].make(aws)

    assert aws.moto_dynamodb.scan(TableName=TABLE)["Items"] == []


def test_a_fault_hits_its_operation_only_and_requests_are_counted_by_operation(aws: Aws) -> None:
    aws.sandbox.fault("dynamodb", "GetItem", "error_500", count=ATTEMPTS)

    aws.dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "a"}})
    aws.dynamodb.query(
        TableName=TABLE, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "a"}}
    )
    aws.secretsmanager.get_secret_value(SecretId=SECRET)
    with pytest.raises(botocore.exceptions.ClientError):
        aws.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})

    assert aws.sandbox.calls() == {
        "dynamodb.GetItem": ATTEMPTS,
        "dynamodb.PutItem": 1,
        "dynamodb.Query": 1,
        "secretsmanager.GetSecretValue": 1,
    }


def test_a_fault_without_operation_hits_every_operation_of_its_service(aws: Aws) -> None:
    aws.sandbox.fault("dynamodb", None, "throttle", count=2 * ATTEMPTS)

    for call in (
        lambda: aws.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}}),
        lambda: CALLS["dynamodb"].make(aws),
    ):
        with pytest.raises(botocore.exceptions.ClientError):
            call()
    aws.secretsmanager.get_secret_value(SecretId=SECRET)

    assert aws.sandbox.faults() == []


def test_clear_faults_drops_aws_faults_too(aws: Aws) -> None:
    aws.sandbox.fault("dynamodb", "PutItem", "throttle", count=100)
    aws.sandbox.fault("secretsmanager", "GetSecretValue", "error_500", count=100)
    aws.sandbox.fault("bazaarvoice", "authenticateuser", "error_500", count=100)

    aws.sandbox.clear_faults()

    assert aws.sandbox.faults() == []
    CALLS["dynamodb"].make(aws)
    CALLS["secretsmanager"].make(aws)


def test_reset_drops_aws_faults_and_counters(aws: Aws) -> None:
    aws.sandbox.fault("dynamodb", "PutItem", "throttle", count=100)
    aws.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})

    aws.sandbox.reset()

    assert aws.sandbox.faults() == [] and aws.sandbox.calls() == {}
    CALLS["dynamodb"].make(aws)


@pytest.mark.parametrize(
    ("service", "target", "content_type", "mode", "status", "error_type"),
    [
        (
            "dynamodb",
            "DynamoDB_20120810.PutItem",
            "application/x-amz-json-1.0",
            "throttle",
            400,
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        ),
        (
            "dynamodb",
            "DynamoDB_20120810.PutItem",
            "application/x-amz-json-1.0",
            "error_500",
            500,
            "com.amazonaws.dynamodb.v20120810#InternalServerError",
        ),
        (
            "secretsmanager",
            "secretsmanager.GetSecretValue",
            "application/x-amz-json-1.1",
            "throttle",
            400,
            "ThrottlingException",
        ),
        (
            "secretsmanager",
            "secretsmanager.GetSecretValue",
            "application/x-amz-json-1.1",
            "error_500",
            500,
            "InternalServiceError",
        ),
    ],
)
def test_the_wire_answer_is_the_service_s(
    aws: Aws, service: str, target: str, content_type: str, mode: str, status: int, error_type: str
) -> None:
    aws.sandbox.fault(service, target.partition(".")[2], mode)

    answer = requests.post(
        aws.proxy_url, data=b"{}", timeout=5, headers={"X-Amz-Target": target, "Content-Type": content_type}
    )

    assert answer.status_code == status
    assert answer.headers["Content-Type"] == content_type
    assert answer.json()["__type"] == error_type and answer.json()["message"]
    assert answer.headers["x-amzn-RequestId"]


def test_a_timeout_hold_ends_by_itself(aws: Aws) -> None:
    aws.sandbox.fault("dynamodb", "GetItem", "timeout", seconds=0.5)
    connection = http.client.HTTPConnection("127.0.0.1", int(aws.proxy_url.rsplit(":", 1)[1]), timeout=10)
    started = time.monotonic()

    connection.request("POST", "/", body=b"{}", headers={"X-Amz-Target": "DynamoDB_20120810.GetItem"})
    with pytest.raises(http.client.RemoteDisconnected):
        connection.getresponse()

    assert 0.5 <= time.monotonic() - started < 5, "held about as long as asked, then closed without an answer"


@pytest.mark.parametrize(
    "fault",
    [
        {"vendor": "dynamodb", "operation": "Putitem", "mode": "throttle"},
        {"vendor": "dynamodb", "operation": "PutItem", "mode": "garbage"},
        {"vendor": "dynamodb", "operation": "PutItem", "mode": "rate_limit"},
        {"vendor": "secretsmanager", "operation": "PutItem", "mode": "throttle"},
        {"vendor": "s3", "operation": "PutObject", "mode": "throttle"},
        {"vendor": "bazaarvoice", "operation": "authenticateuser", "mode": "throttle"},
    ],
)
def test_invalid_aws_faults_are_refused(aws: Aws, fault: dict[str, str]) -> None:
    answer = requests.post(f"{aws.sandbox.url}/_sandbox/faults", json=fault, timeout=5)

    assert answer.status_code == 400, answer.text
    assert aws.sandbox.faults() == []


def test_other_requests_pass_through_uncounted(aws: Aws) -> None:
    answer = requests.get(f"{aws.proxy_url}/moto-api/data.json", timeout=5)

    assert answer.status_code == 200 and json.loads(answer.content)
    assert aws.sandbox.calls() == {}
