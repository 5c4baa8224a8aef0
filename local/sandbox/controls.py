"""The `/_sandbox/*` routes that steer the sandboxes: counters, vendor and AWS faults, latency, reset, minting."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from local.sandbox import aws_proxy, issuer
from local.sandbox.core import (
    DEFAULT_TIMEOUT_SECONDS,
    MAX_TIMEOUT_SECONDS,
    VENDOR_MODES,
    Fault,
    FaultMode,
    Request,
    Response,
    Route,
    Service,
    VendorError,
)
from local.sandbox.state import SandboxState

MAX_LATENCY_MS = 60_000


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
            Route("POST", "/livevox/users/(?P<user_name>[^/]+)/password", "livevox_password", self.livevox_password),
            Route("GET", "/livevox/users/(?P<user_name>[^/]+)", "livevox_user", self.livevox_user),
            Route("DELETE", "/livevox/sessions/(?P<session_id>[^/]+)", "livevox_end_session", self.livevox_end_session),
            Route("POST", "/livevox/error_shape", "livevox_error_shape", self.livevox_error_shape),
            Route("POST", "/loudvoice/switches", "loudvoice_switches", self.set_loudvoice_switches),
            Route("GET", "/issuer/.well-known/openid-configuration", "issuer_discovery", self.issuer_discovery),
            Route("GET", "/issuer/jwks", "issuer_jwks", lambda r, m: Response.json(200, self.state.issuer.jwks())),
            Route("POST", "/issuer/tokens", "issuer_token", self.mint_jwt),
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
        name = body.get("vendor")
        targets: dict[str, Service | aws_proxy.AwsService] = {**self.vendors, **aws_proxy.SERVICES}
        target = targets.get(name) if isinstance(name, str) else None
        if target is None:
            raise _invalid(f"vendor must be one of {', '.join(sorted(targets))}")
        operation = body.get("operation")
        if operation is not None and (not isinstance(operation, str) or operation not in target.operations()):
            raise _invalid(f"operation must be one of {', '.join(sorted(target.operations()))} or absent")
        modes = aws_proxy.AWS_MODES if isinstance(target, aws_proxy.AwsService) else VENDOR_MODES
        mode = body.get("mode")
        if mode not in modes:
            raise _invalid(f"mode must be one of {', '.join(sorted(modes))} for {target.name}")
        count = _number(body, "count", default=1, minimum=1, maximum=1_000_000, integer=True)
        seconds = _number(body, "seconds", default=DEFAULT_TIMEOUT_SECONDS, minimum=0, maximum=MAX_TIMEOUT_SECONDS)
        fault = Fault(target.name, operation, FaultMode(mode), int(count), float(seconds))
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
        """`POST /_sandbox/bazaarvoice/error_shape {"shape": <one of bazaarvoice.ERROR_SHAPES>}`."""
        return _switch_error_shape(self.state.bazaarvoice, request)

    def issuer_discovery(self, request: Request, match: object) -> Response:
        """`GET /_sandbox/issuer/.well-known/openid-configuration`."""
        return Response.json(200, self.state.issuer.discovery(_issuer_url(request)))

    def mint_jwt(self, request: Request, match: object) -> Response:
        """`POST /_sandbox/issuer/tokens [{"sub", "aud", "ttl", "iss", "client_id", "scope"}]`: a signed bearer token.

        ``aud`` defaults to the local audience (null: no ``aud``), ``ttl`` (seconds) to 3600 and may be negative;
        ``iss`` replaces the issuer (a token another issuer would have made, signed with this key)."""
        body = _control_body(request)
        sub = body.get("sub", "local-caller")
        audience = body.get("aud", issuer.AUDIENCE)
        if not isinstance(sub, str) or not (
            audience is None
            or isinstance(audience, str)
            or (isinstance(audience, list) and all(isinstance(a, str) for a in audience))
        ):
            raise _invalid("sub must be a string, aud a string, a list of strings or null")
        ttl = int(_number(body, "ttl", default=3600, minimum=-86_400, maximum=86_400, integer=True))
        extra: dict[str, Any] = {key: body[key] for key in ("iss", "client_id", "scope") if key in body}
        if not all(isinstance(value, str) for value in extra.values()):
            raise _invalid("iss, client_id and scope must be strings")
        token = self.state.issuer.mint(_issuer_url(request), sub=sub, audience=audience, ttl=ttl, extra=extra)
        return Response.json(201, {"token": token, "issuer": _issuer_url(request), "expires_in": ttl})

    def mint_loudvoice_identity(self, request: Request, match: object) -> Response:
        """`POST /_sandbox/loudvoice/identities`."""
        return Response.json(201, {"identity_token": self.state.loudvoice.mint_identity()})

    def livevox_password(self, request: Request, match: re.Match[str]) -> Response:
        """`POST /_sandbox/livevox/users/{user_name}/password {"password", "agent"?}`: ends the user's sessions."""
        body = _control_body(request)
        password = body.get("password")
        if not isinstance(password, str) or not password:
            raise _invalid("password must be a non-empty string")
        self.state.livevox.change_password(unquote(match["user_name"]), _flag(body.get("agent")), password)
        return Response.empty()

    def livevox_user(self, request: Request, match: re.Match[str]) -> Response:
        """`GET /_sandbox/livevox/users/{user_name}[?agent=true]` → `{"failed_logins", "locked"}`."""
        agent = (request.query_value("agent") or "false").lower() == "true"
        return Response.json(200, self.state.livevox.user_status(unquote(match["user_name"]), agent))

    def livevox_end_session(self, request: Request, match: re.Match[str]) -> Response:
        """`DELETE /_sandbox/livevox/sessions/{session_id}`: as an administrator or another client would."""
        if not self.state.livevox.end_session(unquote(match["session_id"])):
            raise VendorError(404, "no such live session", code="not_found")
        return Response.empty()

    def livevox_error_shape(self, request: Request, match: object) -> Response:
        """`POST /_sandbox/livevox/error_shape {"shape": "json"|"plain"}`."""
        return _switch_error_shape(self.state.livevox, request)

    def set_loudvoice_switches(self, request: Request, match: object) -> Response:
        """`POST /_sandbox/loudvoice/switches {"plan_limit": bool, "plain_errors": bool, "date_expiration": str|null,
        "reuse_session": bool, "page_size": int|null}`: the keys given are set, the others kept."""
        body = _control_body(request)
        switches = self.state.loudvoice.switches
        unknown = set(body) - set(switches.as_dict())
        if unknown:
            raise _invalid(f"unknown switches: {', '.join(sorted(unknown))}")
        for key in ("plan_limit", "plain_errors", "reuse_session"):
            if key in body and not isinstance(body[key], bool):
                raise _invalid(f"{key} must be a boolean")
        expiration = body.get("date_expiration")
        if expiration is not None and not isinstance(expiration, str):
            raise _invalid("date_expiration must be a string or null")
        page_size = body.get("page_size")
        if page_size is not None and (not isinstance(page_size, int) or isinstance(page_size, bool) or page_size < 1):
            raise _invalid("page_size must be a positive integer or null")
        for key, setting in body.items():
            setattr(switches, key, setting)
        return Response.json(200, switches.as_dict())


def _flag(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    raise _invalid("agent must be a boolean")


def _switch_error_shape(backend: Any, request: Request) -> Response:
    """Set a vendor backend's error shape from `{"shape": ...}`; an unknown shape is a 400 naming the known ones."""
    shape = _control_body(request).get("shape")
    try:
        backend.set_error_shape(shape if isinstance(shape, str) else "")
    except ValueError as exc:
        raise _invalid(str(exc)) from exc
    return Response.json(200, {"shape": backend.error_shape})


def _issuer_url(request: Request) -> str:
    return issuer.base_url(request.header("host") or "127.0.0.1")


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
