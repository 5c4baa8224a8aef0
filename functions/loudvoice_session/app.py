"""LoudVoice author sessions: routes only; the logic lives in author_sessions.py."""

from authhooks.api import lambda_entry, make_resolver, not_implemented

app = make_resolver()
not_implemented(app, [
    ("PUT", "/loudvoice/sessions"),
    ("GET", "/loudvoice/sessions/<session_token>"),
    ("DELETE", "/loudvoice/sessions/<session_token>"),
])
lambda_handler = lambda_entry(app)
