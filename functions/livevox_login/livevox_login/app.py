"""LiveVox login: routes only; the logic lives in login.py."""

from __future__ import annotations

from typing import Any

from authhooks.api import iso_utc, json_object, lambda_entry, make_resolver
from aws_lambda_powertools.event_handler import Response

from livevox_login import login

app = make_resolver()


@app.post("/livevox/sessions")
def create_session() -> dict[str, Any]:
    """Log in with direct credentials or a named account; a cached session when the password matches."""
    return _session(login.log_in(login.login_request(json_object(app.current_event.raw_event))))


@app.post("/livevox/sessions/sso")
def create_sso_session() -> dict[str, Any]:
    """Log in with an OpenID Connect id token."""
    return _session(login.sso_log_in(login.sso_request(json_object(app.current_event.raw_event))))


@app.get("/livevox/sessions/<session_id>")
def check_session(session_id: str) -> dict[str, Any]:
    """Whether a session we handed out is still valid at LiveVox."""
    expires_at = login.check(login.session_id(session_id))
    return {"session_id": session_id, "valid": True, "expires_at": iso_utc(expires_at)}


@app.delete("/livevox/sessions/<session_id>")
def end_session(session_id: str) -> Response[str]:
    """Log out at LiveVox and forget the session; 204 also when it was already gone."""
    login.log_out(login.session_id(session_id))
    return Response(status_code=204, body="")


def _session(session: login.Session) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "client_id": session.client_id,
        "user_id": session.user_id,
        "agent": session.agent,
        "expires_at": iso_utc(session.expires_at),
        "days_until_password_expires": session.days_until_password_expires,
        "cached": session.cached,
    }


lambda_handler = lambda_entry(app, secret_parameters=("session_id",))
