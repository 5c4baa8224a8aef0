"""LiveVox Public API session management (VENDORS.md section 3): login, SSO login, validate, logout."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from authhooks import settings
from authhooks.errors import (
    PasswordExpired,
    ServiceError,
    Unauthorized,
    VendorRateLimited,
    VendorRejected,
    VendorUnavailable,
)
from authhooks.http import RetryPolicy, VendorClient, VendorResponse, cached_client, misconfigured, retry_after
from authhooks.telemetry import logger

# LiveVox hands the same session to the same user and token, so a repeated login is harmless:
# one more try on a failed connect or a 5xx. Worst case with the default timeouts (2 s connect,
# 5 s read): 2 + 5 + 5 s; with the single-flight wait (8 s) under the 25 s function timeout.
# Read timeouts are never repeated.
LOGIN_RETRIES = RetryPolicy(
    connect=1,
    read=0,
    status=1,
    methods=("POST", "GET", "DELETE"),
    status_forcelist=(500, 502, 503, 504),
)

# The status for an expired password is unconfirmed (VENDORS.md 3): the message is what tells.
_PASSWORD_EXPIRED = re.compile(r"password\b.*\bexpired|expired\b.*\bpassword", re.IGNORECASE)
# A validate refused because of the session (not of our LV-Access token) names it in its message.
_SESSION_REFUSED = re.compile(r"\bsession\b", re.IGNORECASE)


@dataclass(frozen=True)
class LiveVoxLogin:
    """What a successful login answers."""

    session_id: str
    client_id: int | None
    user_id: int | None
    days_until_password_expires: int | None


def parse_login(body: Any) -> LiveVoxLogin:
    """A login answer, or ``VendorRejected`` when it carries no session id."""
    session_id = body.get("sessionId") if isinstance(body, dict) else None
    if not isinstance(session_id, str) or not session_id:
        raise VendorRejected("LiveVox answered a login without a session id")
    return LiveVoxLogin(
        session_id=session_id,
        client_id=_optional_int(body.get("clientId")),
        user_id=_optional_int(body.get("userId")),
        days_until_password_expires=_optional_int(body.get("daysUntilPasswordExpires")),
    )


def refusal(response: VendorResponse) -> ServiceError:
    """The error a LiveVox answer that is not a success means (``{"code", "message"}`` bodies, or none)."""
    status = response.status
    message = response.body.get("message") if isinstance(response.body, dict) else None
    if 400 <= status < 500 and isinstance(message, str) and _PASSWORD_EXPIRED.search(message):
        return PasswordExpired("the LiveVox password has expired; change it at LiveVox")
    if status in (401, 403):
        return Unauthorized("LiveVox refused the credentials")
    if status == 429:
        return VendorRateLimited("LiveVox quota reached", retry_after=retry_after(response))
    if status >= 500:
        return VendorUnavailable("LiveVox failed", retry_after=retry_after(response))
    return VendorRejected(f"LiveVox answered with status {status}")


def _optional_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class LiveVoxClient(VendorClient):
    """Wire format of LiveVox session calls; the LV-Access token goes on logins only."""

    vendor = "livevox"

    def __init__(self, config: settings.LiveVox, common: settings.Common) -> None:
        super().__init__(
            config.api_url,
            connect_timeout=common.connect_timeout,
            read_timeout=common.read_timeout,
            retry=LOGIN_RETRIES,
        )
        self.config = config

    def login(self, client_name: str, user_name: str, password: str, agent: bool) -> LiveVoxLogin:
        """``POST <login path>`` with a password."""
        body = {"clientName": client_name, "userName": user_name, "password": password, self.config.agent_flag: agent}
        return self._login("login", self.config.login_path, body)

    def sso_login(self, client_name: str, id_token: str, agent: bool) -> LiveVoxLogin:
        """``POST <SSO path>`` with an OpenID Connect id token; path and field names are unconfirmed (settings)."""
        body = {
            self.config.sso_client_field: client_name,
            self.config.sso_token_field: id_token,
            self.config.agent_flag: agent,
        }
        return self._login("sso_login", self.config.sso_path, body)

    def validate(self, session_id: str) -> bool:
        """Whether LiveVox still accepts the session (a use that keeps it alive): 204 or 200 yes; False only
        when the answer says the session is invalid (404, or a 401/403 naming the session)."""
        access_token = settings.secret_text(self.config.secret_name, "access_token")
        response = self.call(
            "validate",
            "GET",
            "/session/validate",
            params={"sessionId": session_id},
            headers={"LV-Access": access_token, "LV-Session": session_id},
            accept=_VALIDATE_ANSWERS,
        )
        if response.status in (401, 403) and not _names_the_session(response):
            self.count_error("validate", str(response.status))
            raise self.refusal("validate", response)
        return response.ok

    def logout(self, session_id: str) -> bool:
        """End the session at LiveVox; False when it was already gone."""
        response = self.call(
            "logout",
            "DELETE",
            f"/session/logout/{path_segment(session_id)}",
            headers={"LV-Session": session_id},
            accept=_SESSION_ANSWERS,
        )
        return response.ok

    def refusal(self, operation: str, response: VendorResponse) -> ServiceError:
        if operation == "sso_login":
            _log_answer_shape(operation, response)
        if operation == "validate" and response.status in (401, 403):
            # Not about the session (that answer is accepted as "invalid"): LiveVox refused our LV-Access token.
            return misconfigured(
                "livevox", operation, "LiveVox refused this service's LV-Access token", status=response.status
            )
        return refusal(response)

    def _login(self, operation: str, path: str, body: dict[str, Any]) -> LiveVoxLogin:
        access_token = settings.secret_text(self.config.secret_name, "access_token")
        response = self.call(operation, "POST", path, json=body, headers={"LV-Access": access_token})
        try:
            return parse_login(response.body)  # the base already refused a success that is not JSON
        except VendorRejected:
            self.count_error(operation, "bad_answer")
            if operation == "sso_login":
                _log_answer_shape(operation, response)
            raise


def path_segment(value: str) -> str:
    """A value as one path segment: percent-encoded, dots too, so ``..`` cannot climb out of the path."""
    return quote(value, safe="").replace(".", "%2E")


def _names_the_session(response: VendorResponse) -> bool:
    message = response.body.get("message") if isinstance(response.body, dict) else None
    return isinstance(message, str) and bool(_SESSION_REFUSED.search(message))


def _log_answer_shape(operation: str, response: VendorResponse) -> None:
    """The SSO request is unconfirmed: say what LiveVox answered (status, type, field names; never values)."""
    body = response.body
    # A refused id token is the caller's; any other failure more likely means the request itself is wrong.
    log = logger.info if response.status in (401, 403) else logger.warning
    log(
        "LiveVox SSO login failed; check LiveVoxSsoPath and the SSO field names against the customer's "
        "LiveVox documentation",
        extra={
            "operation": operation,
            "status": response.status,
            "content_type": response.header("Content-Type"),
            "body_fields": sorted(str(k)[:64] for k in body)[:20] if isinstance(body, dict) else None,
            "body_type": type(body).__name__ if response.json_ok else "not JSON",
        },
    )


# 2xx: the session is known; 401/404: LiveVox does not know it (any more).
_SESSION_ANSWERS = frozenset({*range(200, 300), 401, 404})
# Validate: 401/403 are "invalid session" only when the answer names the session (see ``validate``).
_VALIDATE_ANSWERS = frozenset({*range(200, 300), 401, 403, 404})


def client() -> LiveVoxClient:
    """The container's client for the current settings (one pooled session, reused while warm)."""
    return cached_client(LiveVoxClient, settings.livevox(), settings.common())
