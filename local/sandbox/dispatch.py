"""One sandbox request to its service: routing, the call counter, latency, and faults in place of answers."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import assert_never
from urllib.parse import parse_qs, urlsplit

from local.sandbox import bazaarvoice, livevox, loudvoice
from local.sandbox.controls import ControlService
from local.sandbox.core import (
    JSON_TYPE,
    Fault,
    FaultMode,
    Request,
    Response,
    Route,
    Service,
    VendorError,
    render_plain_error,
)
from local.sandbox.state import SandboxState

_LOG = logging.getLogger("local.sandbox")


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
        case FaultMode.THROTTLE:
            raise AssertionError("throttle is an AWS fault; the control route refuses it for vendors")
        case _:
            assert_never(fault.mode)
