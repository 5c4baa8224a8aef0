"""One HTTP server base for the local stack (API emulator, vendor sandboxes, AWS fault proxy), on werkzeug.

werkzeug's threaded server (what moto serves with) with what our servers need on top: keep-alive (werkzeug's own
handler closes every connection), a listen backlog for load tests, bodies read whole before the app runs
(chunked or sized, 413 above the limit, also before `Expect: 100-continue`), connections dropped on demand
(a reset or a silent hold) and no tracebacks when clients hang up.
"""

from __future__ import annotations

import io
import logging
import socket
import socketserver
import struct
import sys
import threading
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Self

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

_LOG = logging.getLogger("local.serving")
# http.server's default backlog of 5 resets connections when ~20 clients connect at once.
LISTEN_BACKLOG = 128
READ_CHUNK = 64 * 1024
_HOP_BY_HOP = {"connection", "content-length", "keep-alive", "transfer-encoding", "date", "server"}

RAW_HEADERS = "local.raw_headers"  # environ key: [(name, value), ...] exactly as the client sent them
App = Callable[[Request], Response]
# (status, code, detail) -> the server's own answer to a request it will not pass on (413, 400).
Refusal = Callable[[int, str, str], Response]


class DropConnection(Exception):
    """Raised by an app to answer nothing: reset the connection at once, or hold it `hold` seconds then close it."""

    def __init__(self, *, reset: bool, hold: float = 0.0) -> None:
        super().__init__("reset" if reset else f"hold {hold:g} s")
        self.reset = reset
        self.hold = hold


class BodyRefused(Exception):
    """The request body is unreadable or over the limit: answered by the server's refusal, then closed."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def plain_refusal(status: int, code: str, detail: str) -> Response:
    """The default refusal: a small JSON body."""
    return Response(f'{{"error": "{code}", "message": "{detail}"}}', status, content_type="application/json")


class _Handler(WSGIRequestHandler):
    server: _Server

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Quiet: each app logs what it may (route or operation names, never paths that carry secrets)."""

    def log_message(self, format: str, *args: Any) -> None:
        _LOG.debug(format, *args)

    def log_error(self, format: str, *args: Any) -> None:
        # Malformed requests (414, 400 from the request line parser): the client's problem, not ours.
        _LOG.info(format, *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The request line or headers could not be read (400, 414, 431, 501): the server's own refusal shape."""
        self.close_connection = True
        self._write(
            self.server.refuse(code, _ERROR_CODES.get(code, "invalid_request"), message or HTTPStatus(code).phrase)
        )

    def handle_expect_100(self) -> bool:
        # Refuse an oversized body before the client sends it.
        if self._declared_length() > self.server.max_body:
            self.close_connection = True
            self._write(self.server.refuse(*_too_large(self.server.max_body)))
            return False
        return super().handle_expect_100()

    def run_wsgi(self) -> None:
        """One request: read the body whole, run the app, write its answer (or drop the connection)."""
        try:
            body = self._read_body()
        except BodyRefused as refused:
            self.close_connection = True
            self._write(self.server.refuse(refused.status, refused.code, refused.detail))
            return
        environ = self.make_environ()
        # The headers as sent, repeats and names with underscores kept (the WSGI environ merges or drops them).
        environ.update(
            {
                "wsgi.input": io.BytesIO(body),
                "CONTENT_LENGTH": str(len(body)),
                "wsgi.input_terminated": False,
                RAW_HEADERS: list(self.headers.items()),
            }
        )
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        try:
            response = self.server.request_app(Request(environ))
        except DropConnection as drop:
            self._drop(drop)
            return
        except Exception:
            _LOG.exception("%s: the app failed", self.server.name)
            self.close_connection = True
            response = Response("internal error, see the log", 500, content_type="text/plain")
        self._write(response)

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
            raise BodyRefused(400, "invalid_request", "content-length: not a number")
        if int(length) > self.server.max_body:
            raise BodyRefused(*_too_large(self.server.max_body))
        return self.rfile.read(int(length))

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise BodyRefused(400, "invalid_request", "body: bad chunk size") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers, up to the blank line
                    pass
                return bytes(body)
            if len(body) + size > self.server.max_body:
                raise BodyRefused(*_too_large(self.server.max_body))
            body += self.rfile.read(size)
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _write(self, response: Response) -> None:
        status = response.status_code
        no_body = status in (204, 304) or 100 <= status < 200
        body = b"" if no_body else response.get_data()
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        self.send_response(status, reason)
        for name, value in response.headers.items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        if not no_body:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _drop(self, drop: DropConnection) -> None:
        self.close_connection = True
        if drop.reset:
            # Linger on with a zero timeout makes close() send a TCP RST instead of a FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        else:
            self.server.stopping.wait(drop.hold)


_ERROR_CODES = {414: "uri_too_long", 431: "headers_too_large", 501: "method_not_supported"}


def _too_large(limit: int) -> tuple[int, str, str]:
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} bytes"
    return 413, "payload_too_large", f"body is over {size}"


class _Server(ThreadedWSGIServer):
    def __init__(self, sock: socket.socket, app: App, name: str, max_body: int, refuse: Refusal) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(host, port, app, handler=_Handler, fd=sock.fileno())  # type: ignore[arg-type]
        # What the handler calls: a Request to a Response, not the WSGI application werkzeug's ``app`` is typed as.
        self.request_app = app
        self.name = name
        self.max_body = max_body
        self.refuse = refuse
        self.stopping = threading.Event()
        self._server_version = name  # the Server header

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Socket errors are clients hanging up (their timeouts, our resets): routine; anything else is a bug.
        if isinstance(sys.exc_info()[1], OSError):
            return
        _LOG.exception("%s: connection from %s failed", self.name, client_address)


class HttpServer:
    """`app` on a loopback port (`port=0` picks a free one), served by threads; binding fails with OSError."""

    def __init__(
        self,
        app: App,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "local-http",
        max_body: int = 1024 * 1024,
        refuse: Refusal = plain_refusal,
    ) -> None:
        # Our own listening socket: werkzeug would print and exit on a taken port, and we choose the backlog.
        sock = socket.create_server((host, port), backlog=LISTEN_BACKLOG)
        try:
            self._httpd = _Server(sock, app, name, max_body, refuse)
        finally:
            sock.close()  # werkzeug serves from its own duplicate of the descriptor
        self.name = name
        self._thread: threading.Thread | None = None
        self._serving = False
        self._closed = False

    @property
    def url(self) -> str:
        """`http://<host>:<port>`."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def stopping(self) -> threading.Event:
        """Set on stop: every hold or latency wait should end then."""
        return self._httpd.stopping

    def start(self) -> Self:
        """Serve in a daemon thread."""
        self._serving = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (KeyboardInterrupt propagates)."""
        self._serving = True
        try:
            socketserver.BaseServer.serve_forever(self._httpd, poll_interval=0.2)  # werkzeug's would swallow Ctrl-C
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving and release the port (idempotent); held connections are let go."""
        if self._closed:
            return
        self._closed = True
        self._httpd.stopping.set()
        if self._serving:
            self._httpd.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
