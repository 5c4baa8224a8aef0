"""LiveVox login: routes only; the logic lives in login.py."""

from __future__ import annotations

from typing import Any

from authhooks.api import json_object, lambda_entry, make_resolver
from authhooks.errors import FieldError, InvalidRequest
from authhooks.telemetry import redactor
from aws_lambda_powertools.event_handler import Response

from livevox_login import login

app = make_resolver()


@app.post("/livevox/sessions")
def create_session() -> dict[str, Any]:
    """Log in with direct credentials or a named account; a cached session when the password matches."""
    body = json_object(app.current_event.raw_event)
    redactor.add_request_secrets(*login.caller_secrets(body))
    return login.log_in(login.login_request(body)).as_json()


@app.post("/livevox/sessions/sso")
def create_sso_session() -> dict[str, Any]:
    """Log in with an OpenID Connect id token."""
    body = json_object(app.current_event.raw_event)
    redactor.add_request_secrets(*login.caller_secrets(body))
    return login.sso_log_in(login.sso_request(body)).as_json()


@app.get("/livevox/sessions/<session_id>")
def check_session(session_id: str) -> dict[str, Any]:
    """Whether a session we handed out is still valid at LiveVox."""
    redactor.add_request_secrets(session_id)
    return login.check(_session_id(session_id))


@app.delete("/livevox/sessions/<session_id>")
def end_session(session_id: str) -> Response:
    """Log out at LiveVox and forget the session; 204 also when it was already gone."""
    redactor.add_request_secrets(session_id)
    login.log_out(_session_id(session_id))
    return Response(status_code=204, body="")


def _session_id(value: str) -> str:
    if len(value) > login.MAX_NAME:
        raise InvalidRequest.of([FieldError("session_id", f"must be at most {login.MAX_NAME} characters")])
    return value


lambda_handler = lambda_entry(app)
