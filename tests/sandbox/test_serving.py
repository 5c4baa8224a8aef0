"""The one server base (werkzeug) under the sandboxes and the AWS proxy: bursts, keep-alive, drops, limits."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from werkzeug.wrappers import Request, Response

from local import serving
from local.sandbox.server import SandboxServer
from tests.concurrency import CONCURRENT, burst


def _echo(request: Request) -> Response:
    if request.path == "/reset":
        raise serving.DropConnection(reset=True)
    return Response(request.get_data(), 200, content_type="application/octet-stream")


@pytest.fixture
def echo() -> Iterator[serving.HttpServer]:
    with serving.HttpServer(_echo, max_body=1024) as server:
        yield server


def test_the_listen_backlog_holds_a_burst() -> None:
    assert serving.LISTEN_BACKLOG >= 128


def test_a_burst_of_concurrent_requests_on_the_sandbox_gets_no_reset(sandbox_url: str) -> None:
    outcomes = burst(sandbox_url, "GET", "/_sandbox/health")

    assert outcomes == [200] * CONCURRENT


def test_a_burst_of_concurrent_requests_on_the_aws_proxy_gets_no_reset(
    sandbox_server: SandboxServer, moto_server: str
) -> None:
    proxy = sandbox_server.start_aws_proxy(moto_server)

    outcomes = burst(proxy, "GET", "/moto-api/data.json")

    assert outcomes == [200] * CONCURRENT


def test_keep_alive_chunked_bodies_and_resets(echo: serving.HttpServer) -> None:
    address = urlsplit(echo.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    connection.request("POST", "/", body=b"first")
    assert connection.getresponse().read() == b"first"
    connection.putrequest("POST", "/")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    connection.send(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    first_socket = connection.sock
    assert connection.getresponse().read() == b"abcde"
    assert connection.sock is first_socket, "the connection was kept alive"
    connection.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{echo.url}/reset", timeout=5)


def test_an_oversized_body_is_refused_before_it_is_sent(echo: serving.HttpServer) -> None:
    address = urlsplit(echo.url)
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\nExpect: 100-continue\r\n\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in answer


def test_a_taken_port_is_an_oserror(echo: serving.HttpServer) -> None:
    with pytest.raises(OSError):
        serving.HttpServer(_echo, port=echo.port)
