"""Bazaarvoice sandbox: hosted email authentication (`authenticateuser.json`), VENDORS.md section 1."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from local.config import DEMO_SECRETS
from local.sandbox.core import JSON_TYPE, Clock, Request, Response, Route, Service, VendorError

# What the sandbox accepts is what the local stack's demo secret holds (one place: local.config).
PASSKEY = DEMO_SECRETS["BazaarvoiceSecret"]["passkey"]
QPM_ALLOTTED = 1000
# Signs user tokens so they look like BV's (32 hex of signature + hex payload); not a secret.
_SIGNING_KEY = b"authhooks-sandbox-bazaarvoice"

# How Bazaarvoice words a refusal (VENDORS.md, "Evidence gathered later"); one switch per shape seen:
# classic        the HasErrors envelope with the real status (400, 401, 403, 429, 500)
# classic_200    the same envelope answered with 200 (client errors only)
# display        the display-shaped envelope (Includes, Results, Limit, ...)
# lowercase      hasErrors / errors[].code / errors[].message
# no_message     the classic envelope with a null Message
# problem        the documented problem body {type, title, status, detail, instance, code, occurredAt}
# problem_example the published examples: ERROR_CODE, message and the misspelled "staus"
# text           no JSON at all: an HTML error page with the status
ErrorShape = Literal[
    "classic", "classic_200", "display", "lowercase", "no_message", "problem", "problem_example", "text"
]
ERROR_SHAPES: tuple[ErrorShape, ...] = (
    "classic",
    "classic_200",
    "display",
    "lowercase",
    "no_message",
    "problem",
    "problem_example",
    "text",
)
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class MintedToken:
    """What the email link would carry, and the BV user it authenticates."""

    authtoken: str
    user_id: str


@dataclass(frozen=True)
class _Pending:
    user_id: str
    maxage: int | None
    opaque: bool


def bv_error(code: str, message: str) -> VendorError:
    """A BV refusal; the HTTP status is the one the problem shape uses."""
    status = 401 if code == "ERROR_PARAM_INVALID_API_KEY" else 403 if code == "ERROR_ACCESS_DENIED" else 400
    return VendorError(status, message, code=code)


class BazaarvoiceBackend:
    """Auth tokens waiting to be exchanged, users by email, the per-minute quota, the error shape."""

    def __init__(self, clock: Clock, passkey: str = PASSKEY) -> None:
        self._clock = clock
        self.passkey = passkey  # the demo value unless a test seeds its own (secret canaries)
        self.reset()

    def reset(self) -> None:
        """Forget every token and user; back to the classic error shape."""
        self._pending: dict[str, _Pending] = {}
        self._users_by_email: dict[str, str] = {}
        self._qpm_minute = -1
        self._qpm_count = 0
        self.error_shape: ErrorShape = "classic"

    def set_error_shape(self, shape: str) -> None:
        """Switch how errors are rendered (one of ERROR_SHAPES)."""
        if shape not in ERROR_SHAPES:
            raise ValueError(f"shape must be one of {', '.join(ERROR_SHAPES)}")
        self.error_shape = shape

    def mint_token(self, email: str | None = None, maxage: int | None = None, opaque: bool = False) -> MintedToken:
        """A fresh single-use auth token; the same email always maps to the same user."""
        if email is None:
            user_id = str(uuid.uuid4())
        else:
            user_id = self._users_by_email.setdefault(email.strip().lower(), str(uuid.uuid4()))
        authtoken = secrets.token_urlsafe(24)
        self._pending[authtoken] = _Pending(user_id, maxage, opaque)
        return MintedToken(authtoken, user_id)

    def authenticate(self, passkey: str | None, authtoken: str | None, api_version: str | None) -> str:
        """Exchange an auth token (once) for a user token."""
        if not passkey or not hmac.compare_digest(passkey.encode(), self.passkey.encode()):
            raise bv_error("ERROR_PARAM_INVALID_API_KEY", "The passkey provided is invalid.")
        if not api_version:
            # BV's generic code, naming the parameter: not the token's fault.
            raise bv_error("ERROR_BAD_REQUEST", "Missing required parameter - apiversion.")
        if not authtoken:
            raise bv_error("ERROR_BAD_REQUEST", "The authtoken parameter is required.")
        pending = self._pending.pop(authtoken, None)
        if pending is None:
            raise bv_error("ERROR_BAD_REQUEST", "The auth token is invalid or the user is already authenticated.")
        return self._user_token(pending)

    def _user_token(self, pending: _Pending) -> str:
        if pending.opaque:
            return secrets.token_hex(32)
        payload = f"userid={pending.user_id}&hosted=VERIFIED&date={self._clock():%Y%m%d}"
        if pending.maxage is not None:
            payload += f"&maxage={pending.maxage}"
        signature = hmac.new(_SIGNING_KEY, payload.encode(), hashlib.md5).hexdigest()
        return signature + payload.encode().hex()

    def count_query(self) -> int:
        """Count one query against this minute's quota; returns the count so far this minute."""
        minute = int(self._clock().timestamp() // 60)
        if minute != self._qpm_minute:
            self._qpm_minute, self._qpm_count = minute, 0
        self._qpm_count += 1
        return self._qpm_count


_ENVELOPE: dict[str, Any] = {
    "Data": {},
    "Form": [],
    "FormErrors": {},
    "TypicalHoursToPost": None,
    "SubmissionId": None,
    "Locale": "en_US",
}


class BazaarvoiceWire(Service):
    """Parses BV parameters (query string or form body, names case-insensitive), renders BV bodies."""

    name = "bazaarvoice"

    def __init__(self, backend: BazaarvoiceBackend) -> None:
        self.backend = backend

    def routes(self) -> Sequence[Route]:
        return (Route("POST", r"/data/authenticateuser\.json", "authenticateuser", self.authenticate_user),)

    def on_call(self, operation: str) -> dict[str, str]:
        return {
            "X-Bazaarvoice-QPM-Allotted": str(QPM_ALLOTTED),
            "X-Bazaarvoice-QPM-Current": str(self.backend.count_query()),
        }

    def authenticate_user(self, request: Request, match: re.Match[str]) -> Response:
        """`POST /data/authenticateuser.json`."""
        params = _params(request)
        user_token = self.backend.authenticate(
            passkey=params.get("passkey"),
            authtoken=params.get("authtoken"),
            api_version=params.get("apiversion"),
        )
        body = {**_ENVELOPE, "HasErrors": False, "Errors": [], "Authentication": {"User": user_token}}
        return Response.json(200, body)

    def render_error(self, error: VendorError, request: Request) -> Response:
        return render_bv_error(self.backend.error_shape, error, request.path)


def render_bv_error(shape: ErrorShape, error: VendorError, instance: str) -> Response:
    """One refusal in one of Bazaarvoice's shapes (``instance``: the path asked for)."""
    status, code, message, headers = error.status, error.code or "ERROR_UNKNOWN", error.message, error.headers
    if shape == "problem":
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": message,
            "status": status,
            "detail": message,
            "instance": instance,
            "code": code,
            "occurredAt": _now_iso(),
        }
        return _json(status, body, headers, PROBLEM_JSON)
    if shape == "problem_example":
        return _json(status, {"ERROR_CODE": code, "message": message, "staus": status}, headers, PROBLEM_JSON)
    if shape == "text":
        page = f"<html><body><h1>{status} Error</h1></body></html>".encode()
        return Response(status, page, {"Content-Type": "text/html; charset=utf-8", **headers})
    if shape == "lowercase":
        body = {"hasErrors": True, "errors": [{"code": code, "message": message}], "authentication": None}
    elif shape == "display":
        body = {
            "Includes": {},
            "HasErrors": True,
            "Offset": 0,
            "TotalResults": 0,
            "Locale": "en_US",
            "Errors": [{"Code": code, "Message": message}],
            "Limit": 0,
            "Results": [],
        }
    else:
        body = {
            **_ENVELOPE,
            "HasErrors": True,
            "Errors": [{"Code": code, "Message": None if shape == "no_message" else message}],
            "Authentication": None,
        }
    if shape == "classic_200" and status < 500:
        status = 200
    return _json(status, body, headers, JSON_TYPE)


def _json(status: int, body: Any, headers: Mapping[str, str], content_type: str) -> Response:
    return Response(status, json.dumps(body).encode("utf-8"), {**headers, "Content-Type": content_type})


def _now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _params(request: Request) -> dict[str, str]:
    """Query string and form body merged (body wins), names lower-cased."""
    merged: dict[str, str] = {}
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    sources = [request.query]
    if content_type in ("", "application/x-www-form-urlencoded"):
        sources.append(request.form())
    for source in sources:
        for key, values in source.items():
            if values:
                merged[key.lower()] = values[0]
    return merged
