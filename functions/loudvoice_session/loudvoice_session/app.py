"""LoudVoice author sessions: routes only; the logic lives in author_sessions.py."""

import json
from typing import Any

from authhooks.api import json_object, lambda_entry, make_resolver
from aws_lambda_powertools.event_handler import Response

from loudvoice_session import author_sessions

app = make_resolver()


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


@app.put("/loudvoice/sessions")
def start_session() -> Response:
    request = author_sessions.parse_request(json_object(app.current_event.raw_event))
    started = author_sessions.start(request)
    return _json(201 if started.created else 200, started.body)


@app.get("/loudvoice/sessions/<session_token>")
def get_session(session_token: str) -> Response:
    author_sessions.check_token(session_token)
    return _json(200, author_sessions.read(session_token))


@app.delete("/loudvoice/sessions/<session_token>")
def end_session(session_token: str) -> Response:
    author_sessions.check_token(session_token)
    author_sessions.end(session_token)
    return Response(status_code=204, body="")


lambda_handler = lambda_entry(app)
