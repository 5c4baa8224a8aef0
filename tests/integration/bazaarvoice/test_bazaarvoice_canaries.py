"""Canaries: the PassKey, the auth token and the user token never reach a log line; the PassKey no response."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.conftest import Api, AwsBackend
from tests.integration.bazaarvoice.conftest import LANDING, confirm_form, confirm_json

PASSKEY = "sandbox-bv-passkey"


def test_no_secret_in_logs_responses_or_keys(
    api: Api,
    aws: AwsBackend,
    mint: Callable,
    fault: Callable,
    error_shape: Callable,
    bv_settings: Callable,
    log_lines: list[str],
) -> None:
    replies = []
    tokens = [mint(email="canary@example.com")["bv_authtoken"] for _ in range(3)]
    replies.append(api.get(LANDING, query={"bv_authtoken": tokens[0]}))
    confirmed = confirm_json(api, {"bv_authtoken": tokens[0]})  # the exchange: the one answer with the token
    user_token = confirmed.json()["user_token"]
    replies.append(confirmed)
    replies.append(confirm_form(api, tokens[0]))  # from the store
    for mode in ("timeout", "reset", "error_500", "garbage", "rate_limit"):
        fault(mode)
        replies.append(confirm_form(api, tokens[1]))
    error_shape("problem")
    replies.append(confirm_json(api, {"bv_authtoken": tokens[1]}))
    replies.append(confirm_json(api, {"bv_authtoken": tokens[1]}))  # spent at BV, known to us
    bv_settings(BAZAARVOICE_PARAMS_IN="form")
    replies.append(confirm_json(api, {"bv_authtoken": tokens[2]}))
    replies.append(confirm_json(api, {"bv_authtoken": "never-minted-canary-token"}))
    user_id = json.loads(replies[-2].body)["bv_user_id"]
    replies.append(api.get(f"/bazaarvoice/users/{user_id}"))

    assert [r.status for r in replies] == [200, 200, 200, 504, 503, 503, 502, 503, 200, 200, 200, 400, 200]
    assert len(log_lines) > 10  # the flows above did log: vendor calls, failures, errors
    every_line = "\n".join(log_lines)
    for secret in (PASSKEY, *tokens, "never-minted-canary-token", user_token):
        assert secret not in every_line, secret
    for reply in replies:
        assert PASSKEY not in reply.text and PASSKEY not in json.dumps(reply.headers)
    for item in aws.items():
        assert not any(secret in item["pk"]["S"] for secret in (*tokens, user_token, PASSKEY))
