"""The local HTTP API: API Gateway (HTTP API, payload 2.0) in front of the functions, routed from template.yaml.

Each request becomes the event API Gateway would send (``local.events``), goes to the function its route
names, and the function's result goes back to the client the way API Gateway renders it.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from local import events, template

_LOG = logging.getLogger("local.apigateway")
PROBLEM_JSON = "application/problem+json"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's own payload limit; the functions enforce their smaller one
OPENAPI = template.ROOT / "openapi.yaml"
# /docs: Swagger UI from the pinned swagger-ui-bundle package, every asset served here (no CDN).
DOCS_PAGES = Path(__file__).resolve().parent / "docs"
_DOCS_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".css": "text/css; charset=utf-8", ".png": "image/png"}
_SWAGGER_UI_ASSETS = ("swagger-ui.css", "index.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                      "favicon-32x32.png", "favicon-16x16.png")
# Connection-level headers are the gateway's business, never the function's.
_HOP_BY_HOP = {"connection", "content-length", "date", "keep-alive", "server", "transfer-encoding"}
_FORWARDED = ("x-forwarded-for", "x-forwarded-port", "x-forwarded-proto")

Invoke = Callable[[str, dict[str, Any]], Any]  # (function logical id, event) -> the handler's result


class GatewayError(Exception):
    """What the gateway answers itself, without a function: unreadable or oversized request, no route, failure."""

    def __init__(self, status: int, code: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail

    def problem(self, request_id: str) -> bytes:
        """The RFC 9457 body every JSON route answers errors with (docs/api.md, "Errors")."""
        return json.dumps({"type": "about:blank", "title": self.title, "status": self.status, "code": self.code,
                           "detail": self.detail, "request_id": request_id}).encode("utf-8")


def _not_found(detail: str) -> GatewayError:
    return GatewayError(404, "not_found", "Not found", detail)


def _too_large() -> GatewayError:
    return GatewayError(413, "payload_too_large", "Payload too large",
                        f"body is over {MAX_BODY_BYTES // (1024 * 1024)} MB")


def _invalid(detail: str) -> GatewayError:
    return GatewayError(400, "invalid_request", "Invalid request", detail)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "authhooks-local-apigateway"
    server: _Server

    def do_GET(self) -> None:
        self.serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        _LOG.debug(format, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Access lines are written by ``serve`` (with the route and the latency)."""

    def handle_expect_100(self) -> bool:
        # Refuse an oversized body before the client sends it.
        if self._declared_length() > MAX_BODY_BYTES:
            self.close_connection = True
            self._send_problem(_too_large(), events.new_request_id())
            return False
        return super().handle_expect_100()

    def serve(self) -> None:
        started = time.monotonic()
        request_id = events.new_request_id()
        raw_path, _, raw_query = self.path.partition("?")
        status, route_key = self._answer(raw_path, raw_query, request_id)
        # The route, never the path: paths carry session tokens and ids (API Gateway's access log has routeKey too).
        _LOG.info("%s -> %s (%.0f ms) %s", route_key if route_key != "-" else f"{self.command} (no route)", status,
                  (time.monotonic() - started) * 1000, request_id)

    def _answer(self, raw_path: str, raw_query: str, request_id: str) -> tuple[int, str]:
        try:
            body = self._read_body()
        except GatewayError as error:
            self.close_connection = True
            self._send_problem(error, request_id)
            return error.status, "-"
        if self.command == "GET" and raw_path == "/openapi.yaml":
            return self._send_openapi(request_id), "openapi"
        if self.command == "GET" and (raw_path == "/docs" or raw_path.startswith("/docs/")):
            return self._send_docs(raw_path, request_id), "docs"
        routed = events.routed_event(
            self.server.routes, self.command, raw_path, raw_query=raw_query, headers=self._forwarded_headers(),
            body=body or None, source_ip=self.client_address[0], request_id=request_id,
        )
        if routed is None:
            error = _not_found(f"no route for {self.command} {raw_path}")
            self._send_problem(error, request_id)
            return error.status, "-"
        route, event = routed
        route_key = event["routeKey"]
        try:
            result = self.server.invoke(route.function, event)
            status, headers, raw = events.http_response(result)
        except Exception:
            # API Gateway answers 500 (or 503) with {"message": ...} when the function fails; locally a 502
            # problem tells a gateway-side failure (crash, timeout, bad result) from the function's own 500.
            _LOG.exception("%s failed on %s (request %s)", route.function, route_key, request_id)
            error = GatewayError(502, "internal_error", "Bad gateway",
                                 f"{route.function} failed or did not answer; see the local stack's log")
            self._send_problem(error, request_id)
            return error.status, route_key
        self._send(status, headers, raw, request_id)
        return status, route_key

    def _declared_length(self) -> int:
        try:
            return int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return 0

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            raise _invalid("content-length: not a number")
        if int(length) > MAX_BODY_BYTES:
            raise _too_large()
        return self.rfile.read(int(length))

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _invalid("body: bad chunk size") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers, up to the blank line
                    pass
                return bytes(body)
            if len(body) + size > MAX_BODY_BYTES:
                raise _too_large()
            body += self.rfile.read(size)
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _forwarded_headers(self) -> list[tuple[str, str]]:
        """The client's headers as API Gateway forwards them: it sets the X-Forwarded-* trio itself."""
        pairs = [(name, value) for name, value in self.headers.items() if name.lower() not in _FORWARDED]
        chain = [value.strip() for value in self.headers.get_all("X-Forwarded-For") or []]
        pairs.append(("X-Forwarded-For", ", ".join([*chain, self.client_address[0]])))
        pairs.append(("X-Forwarded-Port", str(self.server.server_address[1])))
        pairs.append(("X-Forwarded-Proto", "http"))
        if "X-Amzn-Trace-Id" not in self.headers:
            pairs.append(("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"))
        return pairs

    def _send_openapi(self, request_id: str) -> int:
        path: Path = self.server.openapi
        if not path.is_file():
            error = _not_found("openapi.yaml is not in the repository yet")
            self._send_problem(error, request_id)
            return error.status
        self._send(200, [("Content-Type", "application/yaml")], path.read_bytes(), request_id)
        return 200

    def _send_docs(self, raw_path: str, request_id: str) -> int:
        name = raw_path.removeprefix("/docs").strip("/") or "index.html"
        if name in _SWAGGER_UI_ASSETS:
            from swagger_ui_bundle import swagger_ui_path

            path = Path(str(swagger_ui_path)) / name
        else:
            # Only our own files by exact name: nothing outside the folder can be named.
            path = DOCS_PAGES / name
            if name not in {p.name for p in DOCS_PAGES.iterdir()}:
                error = _not_found(f"no such documentation file: {name}")
                self._send_problem(error, request_id)
                return error.status
        content_type = _DOCS_TYPES.get(path.suffix, "application/octet-stream")
        self._send(200, [("Content-Type", content_type)], path.read_bytes(), request_id)
        return 200

    def _send_problem(self, error: GatewayError, request_id: str) -> None:
        self._send(error.status, [("Content-Type", PROBLEM_JSON)], error.problem(request_id), request_id)

    def _send(self, status: int, headers: Sequence[tuple[str, str]], body: bytes, request_id: str) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("apigw-requestid", request_id)
        no_body = status in (204, 304) or 100 <= status < 200
        if not no_body:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and not no_body:
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], routes: Sequence[template.Route], invoke: Invoke,
                 openapi: Path) -> None:
        super().__init__(address, _Handler)
        self.routes = list(routes)
        self.invoke = invoke
        self.openapi = openapi

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client closing a kept-alive connection is routine, not a traceback on stderr; anything else is logged.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        _LOG.exception("connection from %s failed", client_address)


class HttpApi:
    """The template's HttpApi on a loopback port (``port=0`` picks a free one), calling ``invoke`` per request."""

    def __init__(self, invoke: Invoke, routes: Sequence[template.Route] | None = None, *,
                 host: str = "127.0.0.1", port: int = 0, openapi: Path = OPENAPI) -> None:
        self.routes = list(template.routes(template.cached()) if routes is None else routes)
        self._httpd = _Server((host, port), self.routes, invoke, openapi)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        """Serve in a daemon thread."""
        iam = [r for r in self.routes if not r.public]
        _LOG.warning("IAM-authorized routes (%d of %d) accept unsigned requests locally: no SigV4 check",
                     len(iam), len(self.routes))
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="local-apigateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting requests and release the port (idempotent)."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()
