"""POST /livevox/sessions: direct and named-account logins through the sandbox, the cache and its password check."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import sandbox_calls
from tests.integration.livevox.conftest import PASSWORD, SESSIONS, credentials, records

ANSWER_FIELDS = {"session_id", "client_id", "user_id", "agent", "expires_at", "days_until_password_expires", "cached"}


def epoch(iso: str) -> int:
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def logins(sandbox_url: str) -> int:
    return sandbox_calls(sandbox_url).get("livevox.login", 0)


def test_direct_login_then_cached(api: Any, sandbox_url: str, aws: Any) -> None:
    first = api.post(SESSIONS, json=credentials())
    assert first.status == 200, first.text
    body = first.json()
    assert set(body) == ANSWER_FIELDS
    assert body["cached"] is False
    assert body["client_id"] == 1001 and isinstance(body["user_id"], int)
    assert body["agent"] is False and body["days_until_password_expires"] == 12
    # Two hours of inactivity at LiveVox, less the 5 min margin.
    assert epoch(body["expires_at"]) == int(api.clock.now) + 7200 - 300

    again = api.post(SESSIONS, json=credentials())
    assert again.status == 200
    assert again.json() == {**body, "cached": True}
    assert logins(sandbox_url) == 1
    assert len(records(aws, "session")) == 1 and len(records(aws, "id")) == 1
    assert records(aws, "lock") == []  # the lease was given back


def test_named_account_login_then_cached(api: Any, sandbox_url: str) -> None:
    first = api.post(SESSIONS, json={"account": "demo"})
    assert first.status == 200, first.text
    assert first.json()["cached"] is False
    again = api.post(SESSIONS, json={"account": "demo"})
    assert again.json()["cached"] is True
    assert again.json()["session_id"] == first.json()["session_id"]
    # The demo account is demo-user / sandbox-password: the same principal, the same cache entry.
    direct = api.post(SESSIONS, json=credentials("demo-user"))
    assert direct.json()["session_id"] == first.json()["session_id"] and direct.json()["cached"] is True
    assert logins(sandbox_url) == 1


def test_unknown_account_is_404_naming_the_field(api: Any, sandbox_url: str, aws: Any) -> None:
    reply = api.post(SESSIONS, json={"account": "nobody"})
    assert reply.status == 404
    problem = reply.json()
    assert problem["code"] == "not_found"
    assert [e["field"] for e in problem["errors"]] == ["account"]
    assert sandbox_calls(sandbox_url) == {}
    assert aws.items() == []


def test_agent_names_differing_in_case_share_one_session(api: Any, sandbox_url: str) -> None:
    first = api.post(SESSIONS, json=credentials("Agent7", agent=True))
    second = api.post(SESSIONS, json=credentials("AGENT7", agent=True))
    assert first.status == second.status == 200
    assert second.json()["session_id"] == first.json()["session_id"]
    assert second.json()["cached"] is True and second.json()["agent"] is True
    assert logins(sandbox_url) == 1


def test_user_names_are_case_sensitive(api: Any, sandbox_url: str) -> None:
    first = api.post(SESSIONS, json=credentials("Carol"))
    second = api.post(SESSIONS, json=credentials("carol"))
    assert first.status == second.status == 200
    assert second.json()["session_id"] != first.json()["session_id"]
    assert second.json()["cached"] is False
    assert logins(sandbox_url) == 2


def test_an_agent_and_a_user_of_the_same_name_do_not_share(api: Any, sandbox_url: str) -> None:
    user = api.post(SESSIONS, json=credentials("dave"))
    agent = api.post(SESSIONS, json=credentials("dave", agent=True))
    assert agent.json()["session_id"] != user.json()["session_id"]
    assert logins(sandbox_url) == 2


def test_wrong_password_while_cached_is_401_without_the_session(api: Any, sandbox_url: str, aws: Any) -> None:
    cached = api.post(SESSIONS, json=credentials()).json()
    before = records(aws, "session")
    reply = api.post(SESSIONS, json=credentials(password="not-the-password"))
    assert reply.status == 401
    assert reply.json()["code"] == "unauthorized"
    assert cached["session_id"] not in reply.text
    assert str(cached["user_id"]) not in reply.text
    # A password that differs may have been changed at LiveVox: it is asked once, then the refusal is remembered.
    assert logins(sandbox_url) == 2
    assert api.post(SESSIONS, json=credentials(password="not-the-password")).status == 401
    assert logins(sandbox_url) == 2
    assert records(aws, "session") == before  # the cached session stays for the password that created it
    assert api.post(SESSIONS, json=credentials()).json() == {**cached, "cached": True}


def test_wrong_password_with_nothing_cached_is_401(api: Any, sandbox_url: str, aws: Any) -> None:
    reply = api.post(SESSIONS, json=credentials(password="not-the-password"))
    assert reply.status == 401
    assert reply.json()["code"] == "unauthorized"
    assert logins(sandbox_url) == 1
    # No session; the refusal is remembered (by the password's HMAC) and counted, nothing else.
    assert {item["pk"].split("#")[1] for item in records(aws)} == {"refused", "refusals"}


def test_expired_password_is_403(api: Any, aws: Any) -> None:
    reply = api.post(SESSIONS, json=credentials("expired-erin"))
    assert reply.status == 403
    assert reply.json()["code"] == "password_expired"
    assert aws.items() == []


def test_a_password_expiring_soon_is_logged_and_counted(
    api: Any, log_lines: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    reply = api.post(SESSIONS, json=credentials("expiring-frank"))
    assert reply.json()["days_until_password_expires"] == 3
    warnings = [json.loads(line) for line in log_lines if "expires soon" in line]
    assert [w["level"] for w in warnings] == ["WARNING"]
    assert warnings[0]["days_until_password_expires"] == 3
    assert '"PasswordExpiringSoon"' in capsys.readouterr().out  # the EMF line the metrics flush prints
    api.post(SESSIONS, json=credentials("alice"))
    assert len([line for line in log_lines if "expires soon" in line]) == 1


def test_a_hit_does_not_slide_expires_at_but_a_confirmed_use_does(api: Any, sandbox_url: str, aws: Any) -> None:
    first = api.post(SESSIONS, json=credentials()).json()
    api.clock.advance(600)  # confirmed by LiveVox lately: handed out as it is, without a write
    again = api.post(SESSIONS, json=credentials()).json()
    assert again == {**first, "cached": True}
    [session] = records(aws, "session")
    assert int(session["expires_at"]) == epoch(first["expires_at"])
    assert "livevox.validate" not in sandbox_calls(sandbox_url)
    api.clock.advance(3000)  # past the revalidation age: LiveVox confirms the session, which then lives on
    later = api.post(SESSIONS, json=credentials()).json()
    assert later["cached"] is True and later["session_id"] == first["session_id"]
    assert epoch(later["expires_at"]) == epoch(first["expires_at"]) + 3600
    assert sandbox_calls(sandbox_url)["livevox.validate"] == 1


def test_days_until_password_expires_counts_down_on_hits(api: Any) -> None:
    assert api.post(SESSIONS, json=credentials()).json()["days_until_password_expires"] == 12
    for _ in range(15):  # kept alive by use for 25 hours
        api.clock.advance(6000)
        answer = api.post(SESSIONS, json=credentials()).json()
        assert answer["cached"] is True
    assert answer["days_until_password_expires"] == 11


def test_a_record_past_expires_at_is_a_miss_though_dynamodb_holds_it(api: Any, sandbox_url: str, aws: Any) -> None:
    first = api.post(SESSIONS, json=credentials()).json()
    api.clock.advance(3 * 3600)
    [stale] = records(aws, "session")
    assert int(stale["expires_at"]) < api.clock.now  # still in the table: TTL deletion is lazy
    again = api.post(SESSIONS, json=credentials())
    assert again.status == 200
    assert again.json()["cached"] is False
    assert logins(sandbox_url) == 2
    assert epoch(again.json()["expires_at"]) > epoch(first["expires_at"])


def test_an_expired_record_does_not_lock_out_a_new_password(api: Any, sandbox_url: str) -> None:
    api.post(SESSIONS, json=credentials())
    api.clock.advance(3 * 3600)
    # The sandbox knows one password; a different one now reaches LiveVox (401) instead of the stale record.
    reply = api.post(SESSIONS, json=credentials(password="rotated-password"))
    assert reply.status == 401
    assert logins(sandbox_url) == 2


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["client_name", "user_name", "password"]),
        ({"account": "demo", "client_name": "SANDBOX"}, ["account"]),
        ({"client_name": "SANDBOX", "user_name": "u", "password": PASSWORD, "tenant": "x"}, ["tenant"]),
        ({"client_name": "SANDBOX", "user_name": "u" * 256, "password": PASSWORD}, ["user_name"]),
        ({"client_name": "SANDBOX", "user_name": "u", "password": PASSWORD, "agent": "yes"}, ["agent"]),
    ],
)
def test_bad_bodies_are_400_naming_the_fields(
    api: Any, sandbox_url: str, aws: Any, body: dict[str, Any], fields: list[str]
) -> None:
    reply = api.post(SESSIONS, json=body)
    assert reply.status == 400
    assert reply.header("Content-Type") == "application/problem+json"
    problem = reply.json()
    assert problem["code"] == "invalid_request"
    assert [e["field"] for e in problem["errors"]] == fields
    assert PASSWORD not in reply.text
    assert sandbox_calls(sandbox_url) == {}
    assert aws.items() == []


@pytest.mark.parametrize("raw", ["", "not json", "[1, 2]", '{"account": "demo", "account": "x"}'])
def test_bodies_that_are_not_one_json_object_are_400(api: Any, raw: str) -> None:
    reply = api.post(SESSIONS, body=raw, headers={"Content-Type": "application/json"})
    assert reply.status == 400
    assert reply.json()["errors"][0]["field"] == "body"
