"""The sandbox HTTP server: one port, the three vendors under path prefixes, `/_sandbox/*` controls."""

from __future__ import annotations

import argparse
import logging
import os
import re
import socket
import struct
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, assert_never
from urllib.parse import parse_qs, urlsplit

from local.sandbox import bazaarvoice, livevox, loudvoice
from local.sandbox.core import (
    DEFAULT_TIMEOUT_SECONDS,
    JSON_TYPE,
    MAX_TIMEOUT_SECONDS,
    CallCounter,
    Fault,
    FaultMode,
    FaultPlan,
    Request,
    Response,
    Route,
    SandboxClock,
    Service,
    VendorError,
    render_plain_error,
)

_LOG = logging.getLogger("local.sandbox")
MAX_BODY_BYTES = 1024 * 1024
MAX_LATENCY_MS = 60_000
DEFAULT_PORT = 3100


@dataclass(frozen=True)
class Credentials:
    """What the sandboxes accept: docs/api.md's demo values, unless a test seeds its own (secret canaries)."""

    bazaarvoice_passkey: str = bazaarvoice.PASSKEY
    loudvoice_public_key: str = loudvoice.PUBLIC_KEY
    loudvoice_private_key: str = loudvoice.PRIVATE_KEY
    livevox_access_token: str = livevox.ACCESS_TOKEN
    livevox_password: str = livevox.PASSWORD


class SandboxState:
    """Everything the sandboxes remember: vendor backends, counters, faults, latency, the clock."""

    def __init__(self, clock: SandboxClock | None = None, credentials: Credentials | None = None) -> None:
        accepted = credentials or Credentials()
        self.clock = clock or SandboxClock()
        # One lock around every backend call and control change: a sandbox needs correctness, not throughput.
        self.lock = threading.RLock()
        self.calls = CallCounter()
        self.faults = FaultPlan()
        self.latency_ms = 0
        self.bazaarvoice = bazaarvoice.BazaarvoiceBackend(self.clock, passkey=accepted.bazaarvoice_passkey)
        self.loudvoice = loudvoice.LoudVoiceBackend(self.clock, public_key=accepted.loudvoice_public_key,
                                                    private_key=accepted.loudvoice_private_key)
        self.livevox = livevox.LiveVoxBackend(self.clock, access_token=accepted.livevox_access_token,
                                              password=accepted.livevox_password)

    def reset(self) -> None:
        """Back to a fresh start: vendor state, counters, faults, latency, error shape, clock."""
        with self.lock:
            self.clock.reset()
            self.calls.clear()
            self.faults.clear()
            self.latency_ms = 0
            self.bazaarvoice.reset()
            self.loudvoice.reset()
            self.livevox.reset()


def _invalid(message: str) -> VendorError:
    return VendorError(400, message, code="invalid_request")


class ControlService(Service):
    """The `/_sandbox/*` routes tests and demos use to steer the sandboxes."""

    name = "_sandbox"

    def __init__(self, state: SandboxState, vendors: Mapping[str, Service]) -> None:
        self.state = state
        self.vendors = vendors

    def routes(self) -> Sequence[Route]:
        return (
            Route("GET", "/health", "health", lambda r, m: Response.json(200, {"ok": True})),
            Route("GET", "/calls", "calls", lambda r, m: Response.json(200, self.state.calls.snapshot())),
            Route("DELETE", "/calls", "calls_reset", self.clear_calls),
            Route("GET", "/faults", "faults", self.list_faults),
            Route("POST", "/faults", "fault_add", self.add_fault),
            Route("DELETE", "/faults", "faults_clear", self.clear_faults),
            Route("GET", "/latency", "latency", self.latency),
            Route("POST", "/latency", "latency_set", self.set_latency),
            Route("POST", "/reset", "reset", self.reset),
            Route("POST", "/bazaarvoice/tokens", "bazaarvoice_token", self.mint_bazaarvoice_token),
            Route("POST", "/bazaarvoice/error_shape", "bazaarvoice_error_shape", self.set_error_shape),
            Route("POST", "/loudvoice/identities", "loudvoice_identity", self.mint_loudvoice_identity),
        )

    def clear_calls(self, request: Request, match: object) -> Response:
        """`DELETE /_sandbox/calls`."""
        self.state.calls.clear()
        return Response.empty()

    def list_faults(self, request: Request, match: object) -> Response:
        """`GET /_sandbox/faults`: faults not yet spent."""
        return Response.json(200, {"faults": [f.as_dict() for f in self.state.faults.pending()]})

    def add_fault(self, request: Request, match: object) -> Response:
        """`POST /_sandbox/faults`."""
        body = _control_body(request)
        vendor_name = body.get("vendor")
        vendor = self.vendors.get(vendor_name) if isinstance(vendor_name, str) else None
        if vendor is None:
            raise _invalid(f"vendor must be one of {', '.join(sorted(self.vendors))}")
        operation = body.get("operation")
        if operation is not None and (not isinstance(operation, str) or operation not in vendor.operations()):
            raise _invalid(f"operation must be one of {', '.join(sorted(vendor.operations()))} or absent")
        try:
            mode = FaultMode(body.get("mode"))
        except ValueError as exc:
            raise _invalid(f"mode must be one of {', '.join(m.value for m in FaultMode)}") from exc
        count = _number(body, "count", default=1, minimum=1, maximum=1_000_000, integer=True)
        seconds = _number(body, "seconds", default=DEFAULT_TIMEOUT_SECONDS, minimum=0, maximum=MAX_TIMEOUT_SECONDS)
        fault = Fault(vendor.name, operation, mode, int(count), float(seconds))
        self.state.faults.add(fault)
        return Response.json(201, fault.as_dict())

    def clear_faults(self, request: Request, match: object) -> Response:
        """`DELETE /_sandbox/faults`."""
        self.state.faults.clear()
        return Response.empty()

    def latency(self, request: Request, match: object) -> Response:
        """`GET /_sandbox/latency`."""
        return Response.json(200, {"ms": self.state.latency_ms})

    def set_latency(self, request: Request, match: object) -> Response:
        """`POST /_sandbox/latency {"ms": 150}`."""
        self.state.latency_ms = int(
            _number(_control_body(request), "ms", default=None, minimum=0, maximum=MAX_LATENCY_MS, integer=True)
        )
        return Response.json(200, {"ms": self.state.latency_ms})

    def reset(self, request: Request, match: object) -> Response:
        """`POST /_sandbox/reset`."""
        self.state.reset()
        return Response.empty()

    def mint_bazaarvoice_token(self, request: Request, match: object) -> Response:
        """`POST /_sandbox/bazaarvoice/tokens [{"email", "maxage", "opaque"}]`."""
        body = _control_body(request)
        email = body.get("email")
        if email is not None and not isinstance(email, str):
            raise _invalid("email must be a string")
        maxage = body.get("maxage")
        if maxage is not None:
            maxage = int(_number(body, "maxage", default=None, minimum=1, maximum=36500, integer=True))
        opaque = body.get("opaque", False)
        if not isinstance(opaque, bool):
            raise _invalid("opaque must be a boolean")
        minted = self.state.bazaarvoice.mint_token(email, maxage, opaque)
        return Response.json(201, {"bv_authtoken": minted.authtoken, "bv_user_id": minted.user_id})

    def set_error_shape(self, request: Request, match: object) -> Response:
        """`POST /_sandbox/bazaarvoice/error_shape {"shape": "classic"|"problem"}`."""
        shape = _control_body(request).get("shape")
        try:
            self.state.bazaarvoice.set_error_shape(shape if isinstance(shape, str) else "")
        except ValueError as exc:
            raise _invalid(str(exc)) from exc
        return Response.json(200, {"shape": self.state.bazaarvoice.error_shape})

    def mint_loudvoice_identity(self, request: Request, match: object) -> Response:
        """`POST /_sandbox/loudvoice/identities`."""
        return Response.json(201, {"identity_token": self.state.loudvoice.mint_identity()})


def _control_body(request: Request) -> dict[str, Any]:
    """A control route's JSON object body; an empty body is an empty object."""
    try:
        body = request.json()
    except ValueError as exc:
        raise _invalid("body must be JSON") from exc
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise _invalid("body must be a JSON object")
    return body


def _number(
    body: Mapping[str, Any],
    key: str,
    *,
    default: float | None,
    minimum: float,
    maximum: float,
    integer: bool = False,
) -> float:
    """`body[key]` (or `default`), checked to be a number within bounds."""
    value = body.get(key, default)
    kinds = (int,) if integer else (int, float)
    if value is None or isinstance(value, bool) or not isinstance(value, kinds) or not minimum <= value <= maximum:
        kind = "an integer" if integer else "a number"
        raise _invalid(f"{key} must be {kind} from {minimum:g} to {maximum:g}")
    return value


@dataclass(frozen=True)
class Drop:
    """Answer nothing: hold the connection `seconds` then close it, or (reset) abort it at once."""

    reset: bool
    seconds: float = 0.0


class Dispatcher:
    """Routes one request to a service and applies counters, latency and faults to vendor calls."""

    def __init__(self, state: SandboxState, stopping: threading.Event) -> None:
        self.state = state
        self._stopping = stopping
        self.vendors: dict[str, Service] = {
            service.name: service
            for service in (
                bazaarvoice.BazaarvoiceWire(state.bazaarvoice),
                loudvoice.LoudVoiceWire(state.loudvoice),
                livevox.LiveVoxWire(state.livevox),
            )
        }
        self.control = ControlService(state, self.vendors)

    def dispatch(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Response | Drop:
        """The answer to one request (or how to drop it)."""
        parts = urlsplit(target)
        service = self._service_for(parts.path)
        if service is None:
            return self._log(method, "unrouted", _no_route(404, method, parts.path))
        request = Request(
            method,
            parts.path[len(service.prefix) :],
            parse_qs(parts.query, keep_blank_values=True),
            headers,
            body,
        )
        route, match = _route(service, request)
        is_vendor = service is not self.control
        if is_vendor and self.state.latency_ms:
            self._stopping.wait(self.state.latency_ms / 1000)
        if route is None or match is None:
            return self._log(method, service.name, _no_route(405 if route else 404, method, parts.path))
        label = f"{service.name}.{route.operation}"
        if not is_vendor:
            return self._log(method, label, self._run(service, route, match, request))

        self.state.calls.record(label)
        with self.state.lock:
            extra_headers = service.on_call(route.operation)
            fault = self.state.faults.take(service.name, route.operation)
            outcome = self._run(service, route, match, request) if fault is None else _faulted(service, fault, request)
        if isinstance(outcome, Response):
            outcome.headers = {**extra_headers, **outcome.headers}
        return self._log(method, label, outcome)

    def _service_for(self, path: str) -> Service | None:
        for service in (self.control, *self.vendors.values()):
            if path == service.prefix or path.startswith(service.prefix + "/"):
                return service
        return None

    def _run(self, service: Service, route: Route, match: re.Match[str], request: Request) -> Response:
        """The one place a service's handler runs and its refusals are rendered."""
        try:
            with self.state.lock:
                return route.handler(request, match)
        except VendorError as error:
            with self.state.lock:
                return service.render_error(error, request)
        except Exception:
            _LOG.exception("sandbox handler for %s.%s failed", service.name, route.operation)
            return render_plain_error(VendorError(500, "sandbox bug, see its log", code="internal_error"))

    @staticmethod
    def _log(method: str, label: str, outcome: Response | Drop) -> Response | Drop:
        # Operation names only: paths and queries carry tokens, session ids and passkeys.
        result = outcome.status if isinstance(outcome, Response) else ("reset" if outcome.reset else "timeout")
        _LOG.info("%s %s -> %s", method, label, result)
        return outcome


def _route(service: Service, request: Request) -> tuple[Route | None, re.Match[str] | None]:
    """The route for the request; (a route of another method, None) when only the method differs."""
    path_match: Route | None = None
    for route in service.routes():
        match = route.match(request.path)
        if match is None:
            continue
        if route.method == request.method:
            return route, match
        path_match = path_match or route
    return path_match, None


def _no_route(status: int, method: str, path: str) -> Response:
    if status == 405:
        error = VendorError(405, f"{method} is not allowed on {path}", code="method_not_allowed")
    else:
        error = VendorError(404, f"No route for {method} {path}", code="not_found")
    return render_plain_error(error)


def _faulted(service: Service, fault: Fault, request: Request) -> Response | Drop:
    """How a faulted call is answered; the vendor's state is left untouched."""
    match fault.mode:
        case FaultMode.TIMEOUT:
            return Drop(reset=False, seconds=fault.seconds)
        case FaultMode.RESET:
            return Drop(reset=True)
        case FaultMode.GARBAGE:
            return Response(200, b"<html>oops", {"Content-Type": JSON_TYPE})
        case FaultMode.RATE_LIMIT:
            return service.render_error(Fault.rate_limited(), request)
        case FaultMode.ERROR_500:
            return service.render_error(Fault.server_error(), request)
        case _:
            assert_never(fault.mode)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], dispatcher: Dispatcher, stopping: threading.Event) -> None:
        self.dispatcher = dispatcher
        self.stopping = stopping
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hanging up (their timeouts, our resets) are routine here; anything else is a sandbox bug.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        _LOG.exception("sandbox connection failed")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the vendors' HTTPS front ends allow
    server_version = "authhooks-sandbox"
    server: _HTTPServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the dispatcher logs operation names instead, never paths that carry secrets."""

    def _handle(self) -> None:
        body = self._read_body()
        if body is None:
            return
        headers = {key.lower(): value for key, value in self.headers.items()}
        outcome = self.server.dispatcher.dispatch(self.command, self.path, headers, body)
        if isinstance(outcome, Response):
            self._write(outcome)
        elif outcome.reset:
            self._reset_connection()
        else:
            self.server.stopping.wait(outcome.seconds)
            self.close_connection = True

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering 411/413 for bodies we will not read."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._write(render_plain_error(VendorError(411, "send a Content-Length", code="length_required")))
            return None
        declared = self.headers.get("Content-Length") or "0"
        length = int(declared) if declared.isdigit() else -1
        if length < 0:
            self.close_connection = True
            self._write(render_plain_error(VendorError(400, "bad Content-Length", code="invalid_request")))
            return None
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._write(render_plain_error(VendorError(413, "body too large", code="payload_too_large")))
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        if response.status != 204:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.status != 204 and response.body:
            self.wfile.write(response.body)

    def _reset_connection(self) -> None:
        # Linger on with a zero timeout makes close() send a TCP RST instead of a FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.rfile.close()
        self.connection.close()


class SandboxServer:
    """The three vendor sandboxes on one loopback port; `port=0` picks a free one."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, state: SandboxState | None = None,
                 credentials: Credentials | None = None) -> None:
        self.state = state or SandboxState(credentials=credentials)
        self._stopping = threading.Event()
        self._httpd = _HTTPServer((host, port), Dispatcher(self.state, self._stopping), self._stopping)
        self._thread: threading.Thread | None = None
        self._serving = False
        self._stopped = False

    @property
    def url(self) -> str:
        """`http://<host>:<port>`."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        """Serve in a daemon thread."""
        self._serving = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        self._serving = True
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving and release the port; calls held by a timeout fault are let go."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        if self._serving:
            self._httpd.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_BANNER = """\
Vendor sandboxes on {url}
  Bazaarvoice  {url}/bazaarvoice   PassKey {bv_passkey}; auth tokens: POST {url}/_sandbox/bazaarvoice/tokens
  LoudVoice    {url}/loudvoice     subdomain sandbox, public key {lv_public}, private key {lv_private}
  LiveVox      {url}/livevox       LV-Access {lvx_access}, client {lvx_client}, password {lvx_password},
                                   SSO id token {lvx_sso}<user name>
  Controls     {url}/_sandbox/calls, /faults, /latency, /reset, /health
Ctrl-C stops."""


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m local.sandbox [--host H] [--port N] [--verbose]`."""
    parser = argparse.ArgumentParser(prog="python -m local.sandbox", description="Local vendor sandboxes.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("AUTHHOOKS_SANDBOX_PORT") or DEFAULT_PORT))
    parser.add_argument("--verbose", action="store_true", help="log one line per call (operation names only)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(message)s")

    server = SandboxServer(args.host, args.port)
    print(
        _BANNER.format(
            url=server.url,
            bv_passkey=bazaarvoice.PASSKEY,
            lv_public=loudvoice.PUBLIC_KEY,
            lv_private=loudvoice.PRIVATE_KEY,
            lvx_access=livevox.ACCESS_TOKEN,
            lvx_client=livevox.CLIENT_NAME,
            lvx_password=livevox.PASSWORD,
            lvx_sso=livevox.SSO_TOKEN_PREFIX,
        ),
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("sandboxes stopped", flush=True)
    return 0
