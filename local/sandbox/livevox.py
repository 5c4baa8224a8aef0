"""LiveVox sandbox: session login, SSO login, validate and logout, VENDORS.md section 3.

Like LiveVox: a user is locked after 5 consecutive failed logins (until a reset: LiveVox needs an administrator),
a password change ends every session of that user, and validate needs the LV-Access token and answers 204.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import string
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from local.config import DEMO_SECRETS
from local.sandbox.core import Clock, Request, Response, Route, Service, VendorError

# What the sandbox accepts is what the local stack's demo secret holds (one place: local.config).
ACCESS_TOKEN = DEMO_SECRETS["LiveVoxSecret"]["access_token"]
CLIENT_NAME = DEMO_SECRETS["LiveVoxSecret"]["accounts"]["demo"]["client_name"]
PASSWORD = DEMO_SECRETS["LiveVoxSecret"]["accounts"]["demo"]["password"]  # any user name, this password
SSO_TOKEN_PREFIX = "sandbox-id-token:"
CLIENT_ID = 1001
IDLE_LIMIT = timedelta(hours=2)
LOCK_AFTER = 5  # consecutive failed logins, LiveVox's default
ERROR_SHAPES = ("json", "plain")  # plain: refusals as an HTML page, as a proxy or gateway in front may answer
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_VERSION = r"(?:/v\d+\.\d+)?"


@dataclass(frozen=True)
class Login:
    """What a successful login answers."""

    session_id: str
    client_id: int
    user_id: int
    days_until_password_expires: int


@dataclass
class _Session:
    key: tuple[str, str, bool, str]
    login: Login
    last_used: datetime


@dataclass
class _User:
    """What LiveVox keeps per user: a changed password (None: the sandbox's default), failures, the lock."""

    password: str | None = None
    failed_logins: int = 0
    locked: bool = False


def principal_of(user_name: str, agent: bool) -> str:
    """Agents' names are case-insensitive at LiveVox (ASCII letters only), users' are not."""
    return user_name.translate(_ASCII_LOWER) if agent else user_name


def lv_error(status: int, message: str) -> VendorError:
    """A LiveVox refusal."""
    return VendorError(status, message)


def _same(given: str | None, expected: str) -> bool:
    return hmac.compare_digest((given or "").encode(), expected.encode())


class LiveVoxBackend:
    """Sessions that stay valid while used at least once every two hours."""

    def __init__(self, clock: Clock, access_token: str = ACCESS_TOKEN, password: str = PASSWORD) -> None:
        self._clock = clock
        # The demo values unless a test seeds its own (secret canaries).
        self.access_token, self.password = access_token, password
        self.reset()

    def reset(self) -> None:
        """Forget every session, changed password and failed login; unlock every user."""
        self._sessions: dict[str, _Session] = {}
        self._by_key: dict[tuple[str, str, bool, str], str] = {}
        self._users: dict[tuple[str, bool], _User] = {}
        self.error_shape = "json"

    def login(self, access_token: str | None, client_name: str, user_name: str, password: str, agent: bool) -> Login:
        """Log in with a password; the same principal and access token get the same live session."""
        self._check_client(access_token, client_name)
        user = self._user(user_name, agent)
        if user.locked:
            raise lv_error(401, "The user is locked after too many failed logins; ask an administrator")
        if not _same(password, user.password or self.password):
            user.failed_logins += 1
            user.locked = user.failed_logins >= LOCK_AFTER
            raise lv_error(401, "Invalid username or password")
        user.failed_logins = 0
        return self._session_for(access_token or "", client_name, user_name, agent)

    def change_password(self, user_name: str, agent: bool, password: str) -> None:
        """A new password for the user (as its owner or LiveVox's expiry would); every session of it ends."""
        self._user(user_name, agent).password = password
        principal = principal_of(user_name, agent)
        for session in [s for s in self._sessions.values() if s.key[1:3] == (principal, agent)]:
            self._forget(session)

    def end_session(self, session_id: str) -> bool:
        """End a session as an administrator or another client would; False when there was none."""
        session = self._live(session_id)
        if session is not None:
            self._forget(session)
        return session is not None

    def user_status(self, user_name: str, agent: bool) -> dict[str, Any]:
        """``{"failed_logins": n, "locked": bool}``."""
        user = self._users.get((principal_of(user_name, agent), agent), _User())
        return {"failed_logins": user.failed_logins, "locked": user.locked}

    def set_error_shape(self, shape: str) -> None:
        """How refusals are rendered: ``json`` (LiveVox's ``{"code", "message"}``) or ``plain`` (an HTML page)."""
        if shape not in ERROR_SHAPES:
            raise ValueError(f"shape must be one of {', '.join(ERROR_SHAPES)}")
        self.error_shape = shape

    def _user(self, user_name: str, agent: bool) -> _User:
        return self._users.setdefault((principal_of(user_name, agent), agent), _User())

    def sso_login(self, access_token: str | None, client_name: str, id_token: str, agent: bool) -> Login:
        """Log in with an identity provider's token `sandbox-id-token:<user name>`."""
        self._check_client(access_token, client_name)
        user_name = id_token.removeprefix(SSO_TOKEN_PREFIX) if id_token.startswith(SSO_TOKEN_PREFIX) else ""
        if not user_name:
            raise lv_error(401, "Invalid SSO token")
        return self._session_for(access_token or "", client_name, user_name, agent)

    def validate(self, access_token: str | None, session_id: str | None) -> None:
        """Accept a live session (and keep it alive) or refuse; the LV-Access token is required."""
        if not _same(access_token, self.access_token):
            raise lv_error(401, "Invalid LV-Access token")
        session = self._live(session_id or "")
        if session is None:
            raise lv_error(401, "Session is not valid")
        session.last_used = self._clock()

    def logout(self, session_id: str) -> None:
        """End a session; unknown or expired ones are not found."""
        session = self._live(session_id)
        if session is None:
            raise lv_error(404, "Session not found")
        self._forget(session)

    def _check_client(self, access_token: str | None, client_name: str) -> None:
        if not _same(access_token, self.access_token):
            raise lv_error(401, "Invalid LV-Access token")
        if client_name != CLIENT_NAME:
            raise lv_error(401, "Invalid client name")

    def _session_for(self, access_token: str, client_name: str, user_name: str, agent: bool) -> Login:
        principal = principal_of(user_name, agent)
        if principal.lower().startswith("expired"):
            # Real status unconfirmed (VENDORS.md 3); 401 keeps clients honest: they must read the message.
            raise lv_error(401, "The user password has expired")
        key = (client_name, principal, agent, access_token)
        session = self._live(self._by_key.get(key, ""))
        now = self._clock()
        if session is None:
            days = 3 if principal.lower().startswith("expiring") else 12
            login = Login(str(uuid.uuid4()), CLIENT_ID, _user_id(principal, agent), days)
            session = _Session(key, login, now)
            self._sessions[login.session_id] = session
            self._by_key[key] = login.session_id
        session.last_used = now
        return session.login

    def _live(self, session_id: str) -> _Session | None:
        session = self._sessions.get(session_id)
        if session is not None and self._clock() - session.last_used >= IDLE_LIMIT:
            self._forget(session)
            return None
        return session

    def _forget(self, session: _Session) -> None:
        self._sessions.pop(session.login.session_id, None)
        self._by_key.pop(session.key, None)


def _user_id(principal: str, agent: bool) -> int:
    """A stable id per user, the same across restarts."""
    digest = hashlib.sha256(f"{CLIENT_NAME}:{agent}:{principal}".encode()).digest()
    return 100000 + int.from_bytes(digest[:4]) % 900000


class LiveVoxWire(Service):
    """Parses LiveVox requests (LV-Access, JSON bodies) and renders `{"code", "message"}` errors."""

    name = "livevox"

    def __init__(self, backend: LiveVoxBackend) -> None:
        self.backend = backend

    def routes(self) -> Sequence[Route]:
        return (
            Route("POST", rf"/session{_VERSION}/login", "login", self.login),
            Route("POST", rf"/session{_VERSION}/login/sso", "sso_login", self.sso_login),
            Route("GET", rf"/session{_VERSION}/validate", "validate", self.validate),
            Route("DELETE", rf"/session{_VERSION}/logout/(?P<session_id>[^/]+)", "logout", self.logout),
        )

    def login(self, request: Request, match: re.Match[str]) -> Response:
        """`POST /session/login`."""
        body = _body(request)
        login = self.backend.login(
            request.header("LV-Access"),
            _text(body, "clientName"),
            _text(body, "userName"),
            _text(body, "password"),
            _agent(body),
        )
        return Response.json(200, _login_json(login))

    def sso_login(self, request: Request, match: re.Match[str]) -> Response:
        """`POST /session/login/sso`."""
        body = _body(request)
        login = self.backend.sso_login(
            request.header("LV-Access"), _text(body, "clientName"), _text(body, "idToken"), _agent(body)
        )
        return Response.json(200, _login_json(login))

    def validate(self, request: Request, match: re.Match[str]) -> Response:
        """`GET /session/validate?sessionId=<id>` (or the `LV-Session` header), with `LV-Access`: 204."""
        self.backend.validate(
            request.header("LV-Access"), request.query_value("sessionId") or request.header("LV-Session")
        )
        return Response.empty(204)

    def logout(self, request: Request, match: re.Match[str]) -> Response:
        """`DELETE /session/logout/<sessionId>` (the id percent-decoded)."""
        self.backend.logout(unquote(match["session_id"]))
        return Response.empty(204)

    def render_error(self, error: VendorError, request: Request) -> Response:
        if self.backend.error_shape == "plain":
            page = f"<html><body><h1>{error.status}</h1><p>{error.message}</p></body></html>"
            return Response(error.status, page.encode("utf-8"), {"Content-Type": "text/html", **error.headers})
        return Response.json(error.status, {"code": error.status, "message": error.message}, error.headers)


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError as exc:
        raise lv_error(400, "The request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise lv_error(400, "The request body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise lv_error(400, f"{key} is required")
    return value


def _agent(body: dict[str, Any]) -> bool:
    # The flag's name is unconfirmed: scripts send `agent`, one client sends `isAgent`; scripts send "false".
    value = body.get("agent", body.get("isAgent", False))
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise lv_error(400, "agent must be a boolean")
    return value


def _login_json(login: Login) -> dict[str, Any]:
    return {
        "sessionId": login.session_id,
        "clientId": login.client_id,
        "userId": login.user_id,
        "daysUntilPasswordExpires": login.days_until_password_expires,
    }
