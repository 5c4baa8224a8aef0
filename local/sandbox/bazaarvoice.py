"""Bazaarvoice sandbox: hosted email authentication (`authenticateuser.json`), VENDORS.md section 1."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from local.config import DEMO_SECRETS
from local.sandbox.core import Clock, Request, Response, Route, Service, VendorError

# What the sandbox accepts is what the local stack's demo secret holds (one place: local.config).
PASSKEY = DEMO_SECRETS["BazaarvoiceSecret"]["passkey"]
QPM_ALLOTTED = 1000
# Signs user tokens so they look like BV's (32 hex of signature + hex payload); not a secret.
_SIGNING_KEY = b"authhooks-sandbox-bazaarvoice"

ErrorShape = Literal["classic", "problem"]
ERROR_SHAPES: tuple[ErrorShape, ...] = ("classic", "problem")


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
        """Switch how errors are rendered: `classic` or `problem`."""
        if shape not in ERROR_SHAPES:
            raise ValueError(f"shape must be one of {', '.join(ERROR_SHAPES)}")
        self.error_shape = cast(ErrorShape, shape)

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
            raise bv_error("ERROR_PARAM_INVALID_PARAMETERS", "The ApiVersion parameter is required.")
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
        code = error.code or "ERROR_UNKNOWN"
        if self.backend.error_shape == "problem":
            body: dict[str, Any] = {"code": code, "message": error.message, "status": error.status}
            return Response.json(error.status, body, error.headers)
        # The classic shape answers client errors with 200; a server failure stays a 5xx.
        status = error.status if error.status >= 500 else 200
        body = {
            **_ENVELOPE,
            "HasErrors": True,
            "Errors": [{"Code": code, "Message": error.message}],
            "Authentication": None,
        }
        return Response.json(status, body, error.headers)


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
