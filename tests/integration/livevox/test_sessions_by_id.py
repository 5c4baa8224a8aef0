"""SSO logins, and GET / DELETE /livevox/sessions/{id}: LiveVox's validate and logout behind our records."""

from __future__ import annotations

from typing import Any

import requests

from tests.conftest import sandbox_calls
from tests.integration.livevox.conftest import SESSIONS, credentials, records

SSO = f"{SESSIONS}/sso"


def sso_body(user: str = "sso-sam", **extra: Any) -> dict[str, Any]:
    return {"client_name": "SANDBOX", "id_token": f"sandbox-id-token:{user}", **extra}


def test_sso_login_is_remembered_by_id_but_not_reused(api: Any, sandbox_url: str, aws: Any) -> None:
    first = api.post(SSO, json=sso_body())
    assert first.status == 200, first.text
    body = first.json()
    assert body["cached"] is False and body["agent"] is False and body["client_id"] == 1001
    again = api.post(SSO, json=sso_body())
    # Not cached: every SSO call logs in; LiveVox answers the same session for the same user.
    assert again.json()["cached"] is False
    assert again.json()["session_id"] == body["session_id"]
    assert sandbox_calls(sandbox_url) == {"livevox.sso_login": 2}
    assert len(records(aws, "session")) == 1 and len(records(aws, "id")) == 1

    check = api.get(f"{SESSIONS}/{body['session_id']}")
    assert check.status == 200 and check.json()["valid"] is True
    assert api.delete(f"{SESSIONS}/{body['session_id']}").status == 204
    assert records(aws, "session") == [] and records(aws, "id") == []


def test_sso_records_never_answer_a_password_login(api: Any, sandbox_url: str) -> None:
    sso = api.post(SSO, json=sso_body("alice")).json()
    direct = api.post(SESSIONS, json=credentials("alice"))
    assert direct.status == 200
    assert direct.json()["cached"] is False  # the SSO record is not a proof of the password
    assert direct.json()["session_id"] == sso["session_id"]  # LiveVox: one session per user and token
    assert sandbox_calls(sandbox_url) == {"livevox.sso_login": 1, "livevox.login": 1}


def test_sso_agent_flag_and_refusals(api: Any, aws: Any) -> None:
    agent = api.post(SSO, json=sso_body("Agent9", agent=True))
    assert agent.status == 200 and agent.json()["agent"] is True
    refused = api.post(SSO, json={"client_name": "SANDBOX", "id_token": "not-a-sandbox-token"})
    assert refused.status == 401 and refused.json()["code"] == "unauthorized"
    bad = api.post(SSO, json={"client_name": "SANDBOX", "id_token": "x" * 8193, "password": "p"})
    assert bad.status == 400
    assert sorted(e["field"] for e in bad.json()["errors"]) == ["id_token", "password"]
    assert len(records(aws, "session")) == 1


def test_get_a_live_session_validates_at_livevox_and_slides(api: Any, sandbox_url: str, aws: Any) -> None:
    login = api.post(SESSIONS, json=credentials()).json()
    api.clock.advance(1800)
    reply = api.get(f"{SESSIONS}/{login['session_id']}")
    assert reply.status == 200
    body = reply.json()
    assert set(body) == {"session_id", "valid", "expires_at"}
    assert body["session_id"] == login["session_id"] and body["valid"] is True
    assert body["expires_at"] > login["expires_at"]  # ISO 8601 UTC sorts like time
    assert sandbox_calls(sandbox_url)["livevox.validate"] == 1
    # The slid record still answers logins from the cache.
    assert api.post(SESSIONS, json=credentials()).json()["expires_at"] == body["expires_at"]


def test_get_an_unknown_session_is_404_without_asking_livevox(api: Any, sandbox_url: str) -> None:
    reply = api.get(f"{SESSIONS}/3a1f0c9e-0000-4000-8000-000000000000")
    assert reply.status == 404 and reply.json()["code"] == "not_found"
    assert sandbox_calls(sandbox_url) == {}


def test_get_an_expired_record_is_404_without_asking_livevox(api: Any, sandbox_url: str) -> None:
    login = api.post(SESSIONS, json=credentials()).json()
    api.clock.advance(3 * 3600)
    assert api.get(f"{SESSIONS}/{login['session_id']}").status == 404
    assert "livevox.validate" not in sandbox_calls(sandbox_url)


def test_get_a_session_livevox_ended_is_404_and_forgotten(api: Any, sandbox_url: str, aws: Any) -> None:
    login = api.post(SESSIONS, json=credentials()).json()
    # Someone logs the session out at LiveVox directly, behind our back.
    ended = requests.delete(f"{sandbox_url}/livevox/session/logout/{login['session_id']}", timeout=5)
    assert ended.status_code == 204
    assert api.get(f"{SESSIONS}/{login['session_id']}").status == 404
    assert records(aws, "session") == [] and records(aws, "id") == []
    fresh = api.post(SESSIONS, json=credentials()).json()
    assert fresh["cached"] is False and fresh["session_id"] != login["session_id"]


def test_delete_logs_out_forgets_and_is_idempotent(api: Any, sandbox_url: str, aws: Any) -> None:
    login = api.post(SESSIONS, json=credentials()).json()
    reply = api.delete(f"{SESSIONS}/{login['session_id']}")
    assert reply.status == 204 and reply.body == b""
    assert sandbox_calls(sandbox_url)["livevox.logout"] == 1
    assert aws.items() == []
    assert api.get(f"{SESSIONS}/{login['session_id']}").status == 404
    assert api.delete(f"{SESSIONS}/{login['session_id']}").status == 204  # already gone
    fresh = api.post(SESSIONS, json=credentials()).json()
    assert fresh["cached"] is False and fresh["session_id"] != login["session_id"]


def test_delete_of_an_old_session_leaves_the_newer_one_alone(api: Any, sandbox_url: str, aws: Any) -> None:
    old = api.post(SESSIONS, json=credentials()).json()
    requests.delete(f"{sandbox_url}/livevox/session/logout/{old['session_id']}", timeout=5)
    api.clock.advance(3 * 3600)
    new = api.post(SESSIONS, json=credentials()).json()
    assert new["session_id"] != old["session_id"]
    assert api.delete(f"{SESSIONS}/{old['session_id']}").status == 204
    again = api.post(SESSIONS, json=credentials()).json()
    assert again["cached"] is True and again["session_id"] == new["session_id"]


def test_a_long_session_id_is_400(api: Any, sandbox_url: str) -> None:
    reply = api.get(f"{SESSIONS}/{'a' * 256}")
    assert reply.status == 400 and reply.json()["errors"][0]["field"] == "session_id"
    assert sandbox_calls(sandbox_url) == {}


def test_a_session_kept_in_use_for_weeks_stays_reachable_by_id(api: Any, aws: Any) -> None:
    login = api.post(SESSIONS, json=credentials()).json()
    for _ in range(8 * 24):  # eight days, used every hour: longer than the by-id record's first life
        api.clock.advance(3600)
        assert api.post(SESSIONS, json=credentials()).json()["cached"] is True
    [pointer] = records(aws, "id")
    assert int(pointer["expires_at"]) > api.clock.now + 7200
    assert api.get(f"{SESSIONS}/{login['session_id']}").status == 200
