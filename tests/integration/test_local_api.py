"""The local HTTP API over real sockets: request -> payload 2.0 event -> worker process -> HTTP response.

Every route of template.yaml is served by a small echo function (in a worker process, as the stack runs the real
ones), so the event the gateway built comes back to the test. Events are compared with the output of
``sam local generate-event apigateway http-api-proxy`` (stored under data/).
"""

from __future__ import annotations

import base64
import dataclasses
import http.client
import json
import os
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from local import events, runtime, template
from local.apigateway import MAX_BODY_BYTES, MAX_INVOKE_BYTES, PROBLEM_JSON, HttpApi
from tests.concurrency import CONCURRENT, burst

HERE = Path(__file__).parent
SAMPLE = json.loads((HERE / "data" / "sam_http_api_proxy.json").read_text())
ECHO = template.Function("EchoFunction", HERE / "echo_function", "app.lambda_handler")
ROUTES = template.routes(template.cached())
EVENT_FILES = sorted((template.ROOT / "events").glob("*.json"))

# In the sample because it shows every option; our template configures no mTLS and no stage variables.
NOT_CONFIGURED = {"authentication", "stageVariables"}
# API Gateway leaves these out when there is nothing to put in them.
ABSENT_WHEN_EMPTY = {"cookies", "queryStringParameters", "pathParameters", "body"}
# Maps whose keys come from the request: only the value type is fixed.
OPEN_MAPS = {"headers", "queryStringParameters", "pathParameters"}
IAM_AUTHORIZER_KEYS = {"accessKey", "accountId", "callerId", "cognitoIdentity", "principalOrgId", "userArn", "userId"}


def assert_same_shape(ours: Any, sample: Any, where: str = "event") -> None:
    """``ours`` has the keys and value types of the sam-generated sample (authorizer: IAM's shape, not JWT's)."""
    assert type(ours) is type(sample), f"{where}: {type(ours).__name__}, sample has {type(sample).__name__}"
    if isinstance(sample, list):
        assert all(type(item) is type(sample[0]) for item in ours), where
        return
    if not isinstance(sample, dict):
        return
    if where.rsplit(".", 1)[-1] in OPEN_MAPS:
        assert all(isinstance(v, str) for v in ours.values()), where
        return
    assert set(ours) <= set(sample), f"{where}: keys the sample lacks: {set(ours) - set(sample)}"
    missing = set(sample) - set(ours)
    assert missing <= NOT_CONFIGURED | ABSENT_WHEN_EMPTY | {"authorizer"}, f"{where}: missing {missing}"
    for key in set(ours) & set(sample):
        if key == "authorizer":
            assert set(ours[key]) == {"iam"} and set(ours[key]["iam"]) == IAM_AUTHORIZER_KEYS, where
        else:
            assert_same_shape(ours[key], sample[key], f"{where}.{key}")


@dataclasses.dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def event(self) -> dict[str, Any]:
        """The event the echo function received."""
        return self.json()


def send(
    base_url: str,
    method: str,
    path: str,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes | None = None,
    *,
    chunked: bool = False,
) -> Answer:
    """One request with exactly these headers (repeats kept), over a fresh connection."""
    address = urlsplit(base_url)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None and not chunked:
            conn.putheader("Content-Length", str(len(body)))
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        if body is not None:
            conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if chunked else body)
        response = conn.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    """The gateway with every route of template.yaml, all served by the echo function in a worker process."""
    pool = runtime.FunctionPool(ECHO, {}, artifact="source", max_workers=2, timeout=10)
    pool.warm()
    routes = [dataclasses.replace(route, function=ECHO.logical_id) for route in ROUTES]
    api = HttpApi(lambda _function, event: pool.invoke(event), routes, port=0).start()
    yield api.url
    api.stop()
    pool.close()


BINARY = bytes(range(256)) * 4


def test_event_has_the_shape_of_a_sam_generated_event(gateway: str) -> None:
    answer = send(
        gateway,
        "POST",
        "/livevox/any/x%20y?multi=1&multi=2&empty=&q=a%26b",
        [
            ("Content-Type", "application/octet-stream"),
            ("X-Repeated", "one"),
            ("X-Repeated", "two"),
            ("Cookie", "a=1; b=2"),
            ("Cookie", "c=3"),
            ("User-Agent", "fidelity-test"),
        ],
        BINARY,
    )

    assert answer.status == 200
    event = answer.event()
    assert_same_shape(event, SAMPLE)
    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "ANY /livevox/{proxy+}"
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/livevox/any/x y"  # decoded, as HTTP APIs do
    assert event["pathParameters"] == {"proxy": "any/x y"}
    assert event["rawQueryString"] == "multi=1&multi=2&empty=&q=a%26b"
    assert event["queryStringParameters"] == {"multi": "1,2", "empty": "", "q": "a&b"}
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    assert event["headers"]["x-repeated"] == "one,two"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    http_context = event["requestContext"]["http"]
    assert (http_context["method"], http_context["sourceIp"], http_context["userAgent"]) == (
        "POST",
        "127.0.0.1",
        "fidelity-test",
    )
    assert event["requestContext"]["authorizer"]["iam"]["accountId"] == events.ACCOUNT_ID
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == BINARY
    assert answer.headers["apigw-requestid"] == event["requestContext"]["requestId"]


def test_public_route_event_has_no_authorizer_and_no_body(gateway: str) -> None:
    event = send(gateway, "GET", "/bazaarvoice/confirm?bv_authtoken=t0k3n").event()

    assert_same_shape(event, SAMPLE)
    assert event["routeKey"] == "GET /bazaarvoice/confirm"
    assert "authorizer" not in event["requestContext"]
    assert "body" not in event and "pathParameters" not in event and "cookies" not in event
    assert event["queryStringParameters"] == {"bv_authtoken": "t0k3n"}


def test_path_parameters_and_the_raw_path_arrive_decoded_as_http_apis_deliver_them(gateway: str) -> None:
    event = send(gateway, "GET", "/loudvoice/sessions/a%2Fb%20c").event()

    assert event["routeKey"] == "GET /loudvoice/sessions/{session_token}"
    assert event["pathParameters"] == {"session_token": "a/b c"}
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/loudvoice/sessions/a/b c"


@pytest.mark.parametrize(
    ("sent", "proxy", "raw_path"),
    [
        ("/livevox/users%2Fu-1", "users/u-1", "/livevox/users/u-1"),
        ("/livevox/users%252Fu-1", "users%2Fu-1", "/livevox/users%2Fu-1"),
    ],
)
def test_an_encoded_slash_is_routed_as_one_segment_but_delivered_decoded(
    gateway: str, sent: str, proxy: str, raw_path: str
) -> None:
    event = send(gateway, "GET", sent).event()

    # The catch-all matched the path as sent; the function still sees the decoded path.
    assert event["routeKey"] == "ANY /livevox/{proxy+}"
    assert event["pathParameters"] == {"proxy": proxy}
    assert event["rawPath"] == raw_path


@pytest.mark.parametrize("sent", ["/bazaarvoice/users%2Fu-1", "/bazaarvoice/users%252Fu-1"])
def test_no_public_route_reaches_the_bazaarvoice_user_paths(gateway: str, sent: str) -> None:
    assert send(gateway, "GET", sent).status == 404  # the landing's only public routes are its own path


def test_text_body_stays_text_also_when_chunked(gateway: str) -> None:
    payload = json.dumps({"author": {"name": "Zoë"}}).encode("utf-8")
    for chunked in (False, True):
        event = send(
            gateway, "PUT", "/loudvoice/sessions", [("Content-Type", "application/json")], payload, chunked=chunked
        ).event()
        assert event["isBase64Encoded"] is False
        assert event["body"].encode("utf-8") == payload


def test_binary_response_and_every_set_cookie_come_back_intact(gateway: str) -> None:
    answer = send(
        gateway, "POST", "/livevox/echo", [("Content-Type", "application/octet-stream"), ("X-Echo", "body")], BINARY
    )

    assert answer.status == 200
    assert answer.body == BINARY
    assert answer.headers["Content-Type"] == "application/octet-stream"
    assert answer.headers["Content-Length"] == str(len(BINARY))
    assert answer.headers["X-Echo"] == "a,b"
    assert answer.headers.get_all("Set-Cookie") == ["session=abc; Path=/; HttpOnly", "theme=dark; Max-Age=60"]


def test_unknown_route_is_a_404_problem(gateway: str) -> None:
    answer = send(gateway, "GET", "/nowhere?x=1")

    assert answer.status == 404
    assert answer.headers["Content-Type"] == PROBLEM_JSON
    assert answer.json() == {
        "type": "about:blank",
        "title": "Not found",
        "status": 404,
        "code": "not_found",
        "detail": "no route for GET /nowhere",
        "request_id": answer.headers["apigw-requestid"],
    }


def test_a_crashing_function_is_a_502_problem_without_a_trace(gateway: str) -> None:
    answer = send(gateway, "GET", "/loudvoice/sessions/x", [("X-Echo-Crash", "1")])

    assert answer.status == 502
    assert answer.headers["Content-Type"] == PROBLEM_JSON
    problem = answer.json()
    assert problem["code"] == "internal_error" and problem["request_id"] == answer.headers["apigw-requestid"]
    assert b"Traceback" not in answer.body and b"echo crashed" not in answer.body
    assert send(gateway, "GET", "/loudvoice/sessions/x").status == 200  # the worker lives on


INTERNAL_SERVER_ERROR = {"message": "Internal Server Error"}  # an HTTP API's answer when its Lambda fails


@pytest.fixture
def one_second_gateway() -> Iterator[tuple[str, runtime.FunctionPool]]:
    """The gateway in front of one echo worker whose function times out after 1 s."""
    pool = runtime.FunctionPool(ECHO, {}, artifact="source", max_workers=1, timeout=1)
    pool.warm()
    routes = [dataclasses.replace(route, function=ECHO.logical_id) for route in ROUTES]
    api = HttpApi(lambda _function, event: pool.invoke(event), routes, port=0).start()
    yield api.url, pool
    api.stop()
    pool.close()


def test_a_hung_function_is_stopped_at_its_timeout_and_its_worker_replaced(
    one_second_gateway: tuple[str, runtime.FunctionPool],
) -> None:
    url, pool = one_second_gateway
    first = send(url, "GET", "/loudvoice/sessions/x")
    hung_pid = int(first.headers["X-Echo-Pid"])
    started = time.monotonic()

    answer = send(url, "GET", "/loudvoice/sessions/x", [("X-Echo-Sleep", "30")])

    assert answer.status == 500 and answer.json() == INTERNAL_SERVER_ERROR
    assert answer.headers["Content-Type"] == "application/json" and answer.headers["apigw-requestid"]
    assert 1 <= time.monotonic() - started < 10, "answered at the function's timeout, not at the handler's end"
    assert hung_pid not in pool.pids()
    with pytest.raises(ProcessLookupError):
        os.kill(hung_pid, 0)
    after = send(url, "GET", "/loudvoice/sessions/x")
    assert after.status == 200 and int(after.headers["X-Echo-Pid"]) != hung_pid


def test_a_result_over_lambdas_response_limit_fails_like_lambda(gateway: str) -> None:
    # The result's JSON carries the body base64-encoded: well over the limit, and the worker lives on.
    answer = send(gateway, "GET", "/loudvoice/sessions/x", [("X-Echo-Size", str(MAX_INVOKE_BYTES))])

    assert answer.status == 500 and answer.json() == INTERNAL_SERVER_ERROR
    assert send(gateway, "GET", "/loudvoice/sessions/x").status == 200


def test_an_event_over_lambdas_request_limit_fails_like_lambda(gateway: str) -> None:
    # Binary bodies reach Lambda base64-encoded: 5 MB become an event of about 6.7 MB.
    big = send(
        gateway,
        "POST",
        "/livevox/echo",
        [("Content-Type", "application/octet-stream"), ("X-Echo", "body")],
        b"\0" * (5 * 1024 * 1024),
    )
    fits = send(
        gateway,
        "POST",
        "/livevox/echo",
        [("Content-Type", "application/octet-stream"), ("X-Echo", "body")],
        b"\0" * (4 * 1024 * 1024),
    )

    assert big.status == 500 and big.json() == INTERNAL_SERVER_ERROR
    assert fits.status == 200 and len(fits.body) == 4 * 1024 * 1024


def test_a_body_over_api_gateways_limit_is_refused_unread(gateway: str) -> None:
    address = urlsplit(gateway)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        conn.putrequest("PUT", "/loudvoice/sessions")
        conn.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
        conn.endheaders()  # the body is never sent: the answer must not wait for it
        response = conn.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["code"] == "payload_too_large"
    finally:
        conn.close()


def test_a_burst_of_concurrent_requests_gets_no_reset(gateway: str) -> None:
    assert burst(gateway, "GET", "/openapi.yaml") == [200] * CONCURRENT


def test_a_burst_of_concurrent_function_calls_gets_no_reset(gateway: str) -> None:
    assert burst(gateway, "GET", "/loudvoice/sessions/burst") == [200] * CONCURRENT


def test_a_request_line_the_server_cannot_read_is_a_problem_not_an_html_page(gateway: str) -> None:
    address = urlsplit(gateway)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(b"GET /loudvoice/sessions/x?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: local\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")

    assert head.startswith(b"HTTP/1.1 414 ")
    assert b"Content-Type: application/problem+json" in head
    assert json.loads(body)["code"] == "uri_too_long"


def test_openapi_yaml_is_served_from_the_repository_when_it_exists(tmp_path: Path) -> None:
    spec = tmp_path / "openapi.yaml"
    api = HttpApi(lambda *_: pytest.fail("no function is called"), ROUTES, openapi=spec).start()
    try:
        assert send(api.url, "GET", "/openapi.yaml").status == 404
        spec.write_text("openapi: 3.1.0\n")
        answer = send(api.url, "GET", "/openapi.yaml")
        assert (answer.status, answer.body) == (200, b"openapi: 3.1.0\n")
        assert answer.headers["Content-Type"] == "application/yaml"
    finally:
        api.stop()


# --- events/ ---------------------------------------------------------------------------------------


def test_every_route_of_the_template_has_an_event_file() -> None:
    keys = {json.loads(path.read_text())["routeKey"] for path in EVENT_FILES}
    wanted = {events.route_key(r.method, r.path) for r in ROUTES if not r.path.endswith("+}")}
    assert wanted <= keys


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.stem)
def test_event_file_is_a_payload_2_event_routed_to_its_function(path: Path) -> None:
    event = json.loads(path.read_text())

    assert_same_shape(event, SAMPLE)
    assert event["version"] == "2.0"
    match = events.match_route(ROUTES, event["requestContext"]["http"]["method"], event["rawPath"])
    assert match is not None, f"{path.name}: no route"
    route, params = match
    assert event["routeKey"] == event["requestContext"]["routeKey"] == events.route_key(route.method, route.path)
    assert event.get("pathParameters", {}) == params
    assert ("authorizer" in event["requestContext"]) is (not route.public)
    assert path.stem.split("_")[0] in route.function.lower()
