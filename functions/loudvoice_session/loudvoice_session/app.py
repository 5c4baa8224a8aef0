"""LoudVoice author sessions: routes only; the logic lives in author_sessions.py."""

from __future__ import annotations

import json
from typing import Any

from authhooks.api import iso_utc, json_object, lambda_entry, make_resolver
from aws_lambda_powertools.event_handler import Response

from loudvoice_session import author_sessions

app = make_resolver()


@app.put("/loudvoice/sessions")
def start_session() -> Response[str]:
    request = author_sessions.parse_request(json_object(app.current_event.raw_event))
    started = author_sessions.start(request)
    return _json(201 if started.created else 200, _session(started.record, cached=started.cached))


@app.get("/loudvoice/sessions/<session_token>")
def get_session(session_token: str) -> Response[str]:
    author_sessions.check_token(session_token)
    # From the store: no vendor call was made.
    return _json(200, _session(author_sessions.read(session_token), cached=True))


@app.delete("/loudvoice/sessions/<session_token>")
def end_session(session_token: str) -> Response[str]:
    author_sessions.check_token(session_token)
    author_sessions.end(session_token)
    return Response(status_code=204, body="")


def _session(record: dict[str, Any], *, cached: bool) -> dict[str, Any]:
    """The API contract's body for a stored session record."""
    return {
        "session_token": record["session_token"],
        "expires_at": iso_utc(record["expires_at"]),
        "expires_in": record["expires_in"],
        "author_created": record["author_created"],
        "cached": cached,
        "author": {key: record["author"].get(key) for key in author_sessions.AUTHOR_FIELDS},
    }


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


lambda_handler = lambda_entry(app, secret_parameters=("session_token",))
