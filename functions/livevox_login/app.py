"""LiveVox login: routes only; the logic lives in login.py."""

from authhooks.api import lambda_entry, make_resolver, not_implemented

app = make_resolver()
not_implemented(app, [
    ("POST", "/livevox/sessions"),
    ("POST", "/livevox/sessions/sso"),
    ("GET", "/livevox/sessions/<session_id>"),
    ("DELETE", "/livevox/sessions/<session_id>"),
])
lambda_handler = lambda_entry(app)
