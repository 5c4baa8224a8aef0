"""LiveVox's own rules: password changes, lockout protection, sessions ended elsewhere, validate and logout as
LiveVox does them; through the functions and the sandbox over loopback."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from authhooks import settings

from local.sandbox.client import SandboxClient
from tests.conftest import STORE_ATTEMPTS, sandbox_calls
from tests.integration.livevox.conftest import SESSIONS, concurrently, credentials, records


def logins(sandbox_url: str) -> int:
    return sandbox_calls(sandbox_url).get("livevox.login", 0)


# --- password changes -------------------------------------------------------------------------------


def test_a_password_changed_at_livevox_works_at_once_and_the_old_one_is_refused(
    api: Any, sandbox_client: SandboxClient, sandbox_url: str
) -> None:
    old = api.post(SESSIONS, json=credentials("pat")).json()
    sandbox_client.livevox_change_password("pat", "pat-new-password")
    new = api.post(SESSIONS, json=credentials("pat", password="pat-new-password"))
    assert new.status == 200, new.text
    assert new.json()["cached"] is False and new.json()["session_id"] != old["session_id"]
    assert logins(sandbox_url) == 2
    stale = api.post(SESSIONS, json=credentials("pat"))  # the old password: asked once, refused
    assert stale.status == 401 and stale.json()["code"] == "unauthorized"
    assert old["session_id"] not in stale.text
    cached = api.post(SESSIONS, json=credentials("pat", password="pat-new-password")).json()
    assert cached["cached"] is True and cached["session_id"] == new.json()["session_id"]
    assert logins(sandbox_url) == 3


def test_a_named_accounts_password_rotated_in_the_secret_works_at_once(
    api: Any, aws: Any, sandbox_client: SandboxClient, sandbox_url: str
) -> None:
    old = api.post(SESSIONS, json={"account": "demo"}).json()
    sandbox_client.livevox_change_password("demo-user", "rotated-demo-password")
    name = settings.livevox().secret_name
    secret = json.loads(aws.secretsmanager.get_secret_value(SecretId=name)["SecretString"])
    secret["accounts"]["demo"]["password"] = "rotated-demo-password"
    aws.secretsmanager.put_secret_value(SecretId=name, SecretString=json.dumps(secret))
    settings.reset()  # as after the secret cache's max age
    new = api.post(SESSIONS, json={"account": "demo"})
    assert new.status == 200, new.text
    assert new.json()["cached"] is False and new.json()["session_id"] != old["session_id"]
    assert logins(sandbox_url) == 2


def test_a_refused_new_password_leaves_the_cached_session_to_its_own_password(api: Any, sandbox_url: str) -> None:
    first = api.post(SESSIONS, json=credentials("quinn")).json()
    assert api.post(SESSIONS, json=credentials("quinn", password="guess-1")).status == 401
    again = api.post(SESSIONS, json=credentials("quinn"))
    assert again.status == 200 and again.json() == {**first, "cached": True}
    assert logins(sandbox_url) == 2


# --- never the cause of a lockout -------------------------------------------------------------------


def test_20_sequential_wrong_passwords_reach_livevox_at_most_the_limit(
    api: Any, sandbox_client: SandboxClient, sandbox_url: str, log_lines: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    limit = 2
    replies = [api.post(SESSIONS, json=credentials("rita", password=f"wrong-{n}")) for n in range(20)]
    assert [r.status for r in replies] == [401] * limit + [429] * (20 - limit)
    paused = replies[-1]
    assert paused.json()["code"] == "login_paused"
    assert 0 < int(paused.header("Retry-After")) <= 900
    assert logins(sandbox_url) == limit
    assert sandbox_client.livevox_user("rita") == {"failed_logins": limit, "locked": False}
    errors = [json.loads(line) for line in log_lines if "logins of a user are paused" in line]
    assert errors and {e["level"] for e in errors} == {"ERROR"}
    assert '"LoginPaused"' in capsys.readouterr().out
    # The right password is paused too (it would have to reach LiveVox) ...
    assert api.post(SESSIONS, json=credentials("rita")).status == 429
    # ... until the window has passed; then LiveVox accepts it and the count starts over.
    api.clock.advance(901)
    assert api.post(SESSIONS, json=credentials("rita")).status == 200
    assert sandbox_client.livevox_user("rita") == {"failed_logins": 0, "locked": False}


def test_the_same_wrong_password_is_asked_once(api: Any, sandbox_client: SandboxClient, sandbox_url: str) -> None:
    replies = [api.post(SESSIONS, json=credentials("sam", password="stale")) for _ in range(20)]
    assert {r.status for r in replies} == {401}
    assert logins(sandbox_url) == 1
    api.clock.advance(901)  # remembered for the window, then asked again
    assert api.post(SESSIONS, json=credentials("sam", password="stale")).status == 401
    assert logins(sandbox_url) == 2
    assert sandbox_client.livevox_user("sam")["locked"] is False


def test_a_cached_session_still_serves_its_password_while_logins_are_paused(api: Any, sandbox_url: str) -> None:
    cached = api.post(SESSIONS, json=credentials("tess")).json()
    statuses = [api.post(SESSIONS, json=credentials("tess", password=f"bad-{n}")).status for n in range(5)]
    assert statuses == [401, 401, 429, 429, 429]
    again = api.post(SESSIONS, json=credentials("tess"))
    assert again.status == 200 and again.json()["session_id"] == cached["session_id"]


def test_16_concurrent_identical_wrong_passwords_share_one_vendor_login(
    api_server: Any, sandbox_client: SandboxClient, sandbox_url: str
) -> None:
    replies = concurrently(api_server, [credentials("uma", password="stale-everywhere")] * 16)
    assert [r.status for r in replies] == [401] * 16, [r.text for r in replies]
    assert logins(sandbox_url) == 1
    assert sandbox_client.livevox_user("uma") == {"failed_logins": 1, "locked": False}


def test_16_concurrent_different_wrong_passwords_reach_livevox_at_most_twice(
    api_server: Any, sandbox_client: SandboxClient, sandbox_url: str, aws_server: Any
) -> None:
    replies = concurrently(api_server, [credentials("vic", password=f"guess-{n}") for n in range(16)])
    statuses = Counter(r.status for r in replies)
    assert set(statuses) <= {401, 429, 503}, [r.text for r in replies]
    assert statuses[401] <= 2 and statuses[429] >= 1
    assert logins(sandbox_url) <= 2
    assert sandbox_client.livevox_user("vic")["locked"] is False
    assert records(aws_server, "lock") == []


def test_a_named_accounts_refused_stored_password_is_an_error_and_pauses(
    api: Any, sandbox_client: SandboxClient, sandbox_url: str, log_lines: list[str]
) -> None:
    # The secret still holds the old password after a change at LiveVox.
    sandbox_client.livevox_change_password("demo-user", "rotated-at-livevox")
    statuses = [api.post(SESSIONS, json={"account": "demo"}).status for _ in range(6)]
    assert statuses == [401] * 6  # the same stored password: asked once, then remembered
    refused = [json.loads(line) for line in log_lines if "stored password of a named account" in line]
    assert [(r["level"], r["account"]) for r in refused] == [("ERROR", "demo")] * 6
    assert logins(sandbox_url) == 1
    assert sandbox_client.livevox_user("demo-user")["locked"] is False


# --- alive, not just remembered ---------------------------------------------------------------------


def test_a_session_ended_at_livevox_is_never_handed_out_after_fresh(
    api: Any, sandbox_client: SandboxClient, sandbox_url: str
) -> None:
    first = api.post(SESSIONS, json=credentials()).json()
    sandbox_client.livevox_end_session(first["session_id"])
    fresh = api.post(SESSIONS, json={**credentials(), "fresh": True})
    assert fresh.status == 200, fresh.text
    assert fresh.json()["session_id"] != first["session_id"] and fresh.json()["cached"] is False
    assert sandbox_calls(sandbox_url) == {"livevox.login": 2, "livevox.validate": 1}
    # The replacement is what later calls get.
    assert api.post(SESSIONS, json=credentials()).json()["session_id"] == fresh.json()["session_id"]


def test_fresh_on_a_live_session_validates_and_hands_it_out(api: Any, sandbox_url: str, aws: Any) -> None:
    first = api.post(SESSIONS, json={"account": "demo"}).json()
    api.clock.advance(60)
    fresh = api.post(SESSIONS, json={"account": "demo", "fresh": True}).json()
    assert fresh["cached"] is True and fresh["session_id"] == first["session_id"]
    assert fresh["expires_at"] > first["expires_at"]  # confirmed now: lives on from now
    assert sandbox_calls(sandbox_url) == {"livevox.login": 1, "livevox.validate": 1}


def test_an_old_confirmation_is_validated_before_handout(
    api: Any, sandbox_client: SandboxClient, sandbox_url: str
) -> None:
    first = api.post(SESSIONS, json=credentials()).json()
    sandbox_client.livevox_end_session(first["session_id"])
    api.clock.advance(60)
    # Confirmed a minute ago: handed out without asking (the documented window) ...
    assert api.post(SESSIONS, json=credentials()).json()["session_id"] == first["session_id"]
    api.clock.advance(settings.livevox().revalidate_seconds)
    # ... but once the confirmation is older than the revalidation age, LiveVox is asked first.
    later = api.post(SESSIONS, json=credentials()).json()
    assert later["session_id"] != first["session_id"] and later["cached"] is False


def test_fresh_sso_logs_in(api: Any, sandbox_url: str) -> None:
    body = {"client_name": "SANDBOX", "id_token": "sandbox-id-token:sso-fresh", "fresh": True}
    assert api.post(f"{SESSIONS}/sso", json=body).json()["cached"] is False
    assert sandbox_calls(sandbox_url) == {"livevox.sso_login": 1}


# --- validate and logout as LiveVox does them ---------------------------------------------------------


def test_a_validate_refused_for_another_reason_keeps_the_session(api: Any, sandbox: Any, aws: Any) -> None:
    login = api.post(SESSIONS, json=credentials()).json()
    before = records(aws)
    accepted = sandbox.state.livevox.access_token
    sandbox.state.livevox.access_token = "rotated-at-livevox"  # our LV-Access token is no longer accepted
    try:
        reply = api.get(f"{SESSIONS}/{login['session_id']}")
    finally:
        sandbox.state.livevox.access_token = accepted
    assert reply.status == 502 and reply.json()["code"] == "vendor_rejected"
    assert records(aws) == before
    assert api.get(f"{SESSIONS}/{login['session_id']}").status == 200


def test_dot_segments_cannot_change_the_logout_path(api: Any, sandbox_url: str) -> None:
    for session_id in ("..", "."):
        assert api.delete(f"{SESSIONS}/{session_id}").status == 204
    # Both reached LiveVox's logout route (as unknown sessions), not /session/ or /session/logout/.
    assert sandbox_calls(sandbox_url) == {"livevox.logout": 2}


def test_agent_names_fold_ascii_letters_only(api: Any, sandbox_url: str) -> None:
    kelvin = api.post(SESSIONS, json=credentials("\u212aelvin", agent=True)).json()  # KELVIN SIGN
    letter = api.post(SESSIONS, json=credentials("kelvin", agent=True)).json()
    upper = api.post(SESSIONS, json=credentials("KELVIN", agent=True)).json()
    assert kelvin["session_id"] != letter["session_id"] == upper["session_id"]
    assert upper["cached"] is True
    assert logins(sandbox_url) == 2


# --- how LiveVox answers ----------------------------------------------------------------------------


def test_a_non_json_401_from_login_is_unauthorized(api: Any, sandbox_client: SandboxClient, aws: Any) -> None:
    sandbox_client.livevox_error_shape("plain")
    reply = api.post(SESSIONS, json=credentials(password="wrong"))
    assert reply.status == 401 and reply.json()["code"] == "unauthorized"
    assert records(aws, "session") == []


def test_sso_field_names_are_settings_and_a_failure_logs_the_answer_shape(
    api: Any, sandbox_url: str, monkeypatch: pytest.MonkeyPatch, log_lines: list[str]
) -> None:
    monkeypatch.setenv("LIVEVOX_SSO_TOKEN_FIELD", "token")  # not what the sandbox reads
    settings.reset()
    reply = api.post(f"{SESSIONS}/sso", json={"client_name": "SANDBOX", "id_token": "sandbox-id-token:x"})
    assert reply.status == 502 and reply.json()["code"] == "vendor_rejected"
    [shape] = [json.loads(line) for line in log_lines if "LiveVox SSO login failed" in line]
    assert shape["status"] == 400 and shape["body_fields"] == ["code", "message"]
    assert "sandbox-id-token:x" not in json.dumps(shape)


def test_a_failed_lease_release_after_a_login_is_logged_not_a_failure(
    api_faults: Any, sandbox_client: SandboxClient, aws_server: Any, log_lines: list[str]
) -> None:
    api_faults.handler("LiveVoxLoginFunction")
    # Every attempt of the release: botocore sends the request and its retries.
    sandbox_client.fault("dynamodb", "DeleteItem", "error_500", count=STORE_ATTEMPTS)
    reply = api_faults.post(SESSIONS, json={"account": "demo"})
    assert reply.status == 200, reply.text
    assert reply.json()["cached"] is False
    assert [line for line in log_lines if "could not release a lease" in line]
    assert sandbox_client.faults() == []  # all were spent on the release
    assert len(records(aws_server, "session")) == 1
