"""Passwords, the LV-Access token, the HMAC key, id tokens and session ids stay out of logs, answers and keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.integration.livevox.conftest import CANARIES, SESSIONS, credentials, records

ID_TOKEN = "sandbox-id-token:canary-sso-user"
WRONG_PASSWORD = "wrong-canary-password"


def test_no_secret_reaches_a_log_an_answer_or_a_key(
    api: Any, aws: Any, log_lines: list[str], fault: Callable[..., None]
) -> None:
    replies = [
        api.post(SESSIONS, json={"account": "demo"}),
        api.post(SESSIONS, json={"account": "demo"}),
        api.post(SESSIONS, json=credentials("canary-user")),
        api.post(SESSIONS, json=credentials("canary-user", password=WRONG_PASSWORD)),
        api.post(SESSIONS, json=credentials("other-user", password=WRONG_PASSWORD)),
        api.post(SESSIONS, json=credentials("expired-user")),
        api.post(SESSIONS, json={**credentials(), "extra": "sandbox-password"}),
        api.post(f"{SESSIONS}/sso", json={"client_name": "SANDBOX", "id_token": ID_TOKEN}),
        api.post(f"{SESSIONS}/sso", json={"client_name": "SANDBOX", "id_token": ID_TOKEN, "agent": "x"}),
    ]
    fault("login", "garbage")
    replies.append(api.post(SESSIONS, json=credentials("garbage-user")))
    session_id = replies[0].json()["session_id"]
    replies += [api.get(f"{SESSIONS}/{session_id}"), api.delete(f"{SESSIONS}/{session_id}")]
    assert [r.status for r in replies] == [200, 200, 200, 401, 401, 403, 400, 200, 400, 502, 200, 204]

    secrets = (*CANARIES, ID_TOKEN, WRONG_PASSWORD)
    assert log_lines, "the routes logged nothing: the canary check would prove nothing"
    for secret in secrets:
        assert not [line for line in log_lines if secret in line], secret
        assert not [r for r in replies if secret.encode() in r.body], secret
    # Session ids are the caller's secrets too: answers carry them, logs never do.
    assert not [line for line in log_lines if session_id in line]

    items = records(aws)
    assert items, "nothing was stored: the key check would prove nothing"
    for item in items:
        assert item["pk"].startswith(("lvx#session#", "lvx#id#", "lvx#refused#", "lvx#refusals#"))
        for secret in (*secrets, session_id):
            assert secret not in item["pk"]
        # Values too: the record keeps an HMAC of the password, never the password or the tokens.
        for secret in secrets:
            assert secret not in str(item)
