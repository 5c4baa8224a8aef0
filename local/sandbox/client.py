"""The one client of the sandboxes' `/_sandbox/*` controls, for tests, bench and demos."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from local.sandbox import issuer

TIMEOUT_SECONDS = 10


class SandboxClient:
    """Steers the sandboxes at `url` (vendor and AWS faults, counters, latency) and mints what they hand out."""

    def __init__(self, url: str, session: requests.Session | None = None) -> None:
        self.url = url.rstrip("/")
        self._http = session or requests.Session()

    def _call(self, method: str, path: str, expect: int, json: Any = None) -> requests.Response:
        response = self._http.request(method, f"{self.url}/_sandbox{path}", json=json, timeout=TIMEOUT_SECONDS)
        if response.status_code != expect:
            raise RuntimeError(f"{method} /_sandbox{path} answered {response.status_code}: {response.text[:300]}")
        return response

    def health(self) -> bool:
        """Whether the sandboxes answer."""
        return self._call("GET", "/health", 200).json() == {"ok": True}

    def reset(self) -> None:
        """Back to a fresh start: vendor state, counters, faults (vendor and AWS), latency, error shape, clock."""
        self._call("POST", "/reset", 204)

    def calls(self) -> dict[str, int]:
        """Requests received so far by `<vendor>.<operation>` (vendors) and `<service>.<Operation>` (AWS)."""
        return self._call("GET", "/calls", 200).json()

    def clear_calls(self) -> None:
        """Counters back to zero."""
        self._call("DELETE", "/calls", 204)

    def fault(
        self, vendor: str, operation: str | None, mode: str, count: int = 1, seconds: float | None = None
    ) -> dict[str, Any]:
        """The next `count` requests of `vendor.operation` (every operation when None) fail by `mode`.

        `vendor` is a vendor sandbox (modes timeout, error_500, rate_limit, garbage, reset) or an AWS service,
        `dynamodb` or `secretsmanager` (modes throttle, error_500, timeout, reset; operations by their AWS
        names, e.g. PutItem). `seconds` is how long a timeout holds the request before closing it.
        """
        body: dict[str, Any] = {"vendor": vendor, "operation": operation, "mode": mode, "count": count}
        if seconds is not None:
            body["seconds"] = seconds
        return self._call("POST", "/faults", 201, body).json()

    def faults(self) -> list[dict[str, Any]]:
        """Faults not yet spent."""
        return self._call("GET", "/faults", 200).json()["faults"]

    def clear_faults(self) -> None:
        """Drop every fault, vendor and AWS."""
        self._call("DELETE", "/faults", 204)

    def latency(self, ms: int) -> None:
        """Every vendor call waits `ms` before it is answered."""
        self._call("POST", "/latency", 200, {"ms": ms})

    def mint_bazaarvoice_token(
        self, email: str | None = None, maxage: int | None = None, opaque: bool = False
    ) -> dict[str, str]:
        """A fresh Bazaarvoice auth token (what the email link carries): `bv_authtoken`, `bv_user_id`."""
        body: dict[str, Any] = {"opaque": opaque}
        if email is not None:
            body["email"] = email
        if maxage is not None:
            body["maxage"] = maxage
        return self._call("POST", "/bazaarvoice/tokens", 201, body).json()

    @property
    def issuer_url(self) -> str:
        """The test issuer (what ``JwtIssuer`` names to send the local API's JWT checks here)."""
        return f"{self.url}{issuer.PATH}"

    def mint_jwt(self, **claims: Any) -> str:
        """A bearer token from the test issuer: ``sub``, ``aud`` (None: none), ``ttl`` seconds, ``iss``,
        ``client_id``, ``scope`` (see ``POST /_sandbox/issuer/tokens``)."""
        return self._call("POST", "/issuer/tokens", 201, claims).json()["token"]

    def bazaarvoice_error_shape(self, shape: str) -> None:
        """How the Bazaarvoice sandbox words its refusals (one of `local.sandbox.bazaarvoice.ERROR_SHAPES`)."""
        self._call("POST", "/bazaarvoice/error_shape", 200, {"shape": shape})

    def mint_loudvoice_identity(self) -> str:
        """A LoudVoice (OneAll) identity token the sandbox will accept."""
        return self._call("POST", "/loudvoice/identities", 201).json()["identity_token"]

    def livevox_change_password(self, user_name: str, password: str, agent: bool = False) -> None:
        """Change a LiveVox user's password, as at LiveVox: every session of that user ends."""
        self._call(
            "POST", f"/livevox/users/{quote(user_name, safe='')}/password", 204, {"password": password, "agent": agent}
        )

    def livevox_user(self, user_name: str, agent: bool = False) -> dict[str, Any]:
        """`{"failed_logins": n, "locked": bool}` of a LiveVox user."""
        query = "?agent=true" if agent else ""
        return self._call("GET", f"/livevox/users/{quote(user_name, safe='')}{query}", 200).json()

    def livevox_end_session(self, session_id: str) -> None:
        """End a LiveVox session as an administrator (or another client) would."""
        self._call("DELETE", f"/livevox/sessions/{quote(session_id, safe='')}", 204)

    def livevox_error_shape(self, shape: str) -> None:
        """How the LiveVox sandbox renders refusals: `json` or `plain` (an HTML page)."""
        self._call("POST", "/livevox/error_shape", 200, {"shape": shape})

    def loudvoice_switches(self, **switches: Any) -> dict[str, Any]:
        """Make the LoudVoice sandbox misbehave: `plan_limit` (OneAll's 403 "limit exceeded" on every call),
        `plain_errors` (refusals as HTML pages), `date_expiration` (the text new sessions carry), `reuse_session` (a
        start updates the author's newest live session), `page_size` (entries a list page holds); others kept."""
        return self._call("POST", "/loudvoice/switches", 200, switches).json()
