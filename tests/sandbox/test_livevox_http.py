"""LiveVox session login, SSO, validate and logout over loopback HTTP."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
import requests

from local.sandbox.client import SandboxClient
from local.sandbox.server import SandboxServer
from tests.sandbox.vendor_calls import LVX_ACCESS, LVX_PASSWORD, lvx_login, lvx_validate


def _login(response: requests.Response) -> dict[str, object]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"sessionId", "clientId", "userId", "daysUntilPasswordExpires"}
    uuid.UUID(str(body["sessionId"]))
    assert body["clientId"] == 1001
    assert isinstance(body["userId"], int)
    return body


def _error(response: requests.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == status
    return body["message"]


def test_login_shape_and_password_expiry_days(sandbox_url: str) -> None:
    assert _login(lvx_login(sandbox_url, "alice"))["daysUntilPasswordExpires"] == 12
    assert _login(lvx_login(sandbox_url, "expiring-bob"))["daysUntilPasswordExpires"] == 3


@pytest.mark.parametrize("path", ["/session/login", "/session/v5.0/login", "/session/v6.0/login"])
def test_login_paths(sandbox_url: str, path: str) -> None:
    _login(lvx_login(sandbox_url, path=path))


def test_same_user_same_session_and_stable_user_id(sandbox_url: str) -> None:
    first = _login(lvx_login(sandbox_url, "alice"))
    again = _login(lvx_login(sandbox_url, "alice", path="/session/v6.0/login"))
    other = _login(lvx_login(sandbox_url, "bob"))
    assert first["sessionId"] == again["sessionId"] != other["sessionId"]
    assert first["userId"] == again["userId"] != other["userId"]


def test_agent_names_are_case_insensitive_users_are_not(sandbox_url: str) -> None:
    agent = _login(lvx_login(sandbox_url, "Agent7", agent=True))
    assert _login(lvx_login(sandbox_url, "AGENT7", agent=True))["sessionId"] == agent["sessionId"]
    user = _login(lvx_login(sandbox_url, "Carol"))
    assert _login(lvx_login(sandbox_url, "carol"))["sessionId"] != user["sessionId"]
    assert _login(lvx_login(sandbox_url, "Agent7"))["sessionId"] != agent["sessionId"]


def test_is_agent_flag_name_is_accepted(sandbox_url: str) -> None:
    agent = _login(lvx_login(sandbox_url, "dave", agent=True))
    response = requests.post(
        f"{sandbox_url}/livevox/session/login",
        json={"clientName": "SANDBOX", "userName": "DAVE", "password": LVX_PASSWORD, "isAgent": True},
        headers=LVX_ACCESS,
        timeout=5,
    )
    assert _login(response)["sessionId"] == agent["sessionId"]


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"password": "wrong"}, 401),
        ({"client": "OTHER"}, 401),
        ({"headers": {"LV-Access": "wrong"}}, 401),
        ({"headers": {}}, 401),
        ({"user": ""}, 400),
    ],
)
def test_login_refusals(sandbox_url: str, kwargs: dict[str, Any], status: int) -> None:
    _error(lvx_login(sandbox_url, **kwargs), status)


def test_expired_password(sandbox_url: str) -> None:
    assert "password has expired" in _error(lvx_login(sandbox_url, "expired-erin"), 401)


def test_sso_login_matches_password_login(sandbox_url: str) -> None:
    by_password = _login(lvx_login(sandbox_url, "frank"))
    for path in ("/session/login/sso", "/session/v5.0/login/sso"):
        response = requests.post(
            f"{sandbox_url}/livevox{path}",
            json={"clientName": "SANDBOX", "idToken": "sandbox-id-token:frank", "agent": False},
            headers=LVX_ACCESS,
            timeout=5,
        )
        assert _login(response) == by_password
    bad = requests.post(
        f"{sandbox_url}/livevox/session/login/sso",
        json={"clientName": "SANDBOX", "idToken": "some-other-token", "agent": False},
        headers=LVX_ACCESS,
        timeout=5,
    )
    _error(bad, 401)


def test_validate_and_logout(sandbox_url: str) -> None:
    session_id = str(_login(lvx_login(sandbox_url))["sessionId"])
    valid = lvx_validate(sandbox_url, session_id)
    assert valid.status_code == 204 and valid.content == b""
    by_header = requests.get(
        f"{sandbox_url}/livevox/session/validate", headers={**LVX_ACCESS, "LV-Session": session_id}, timeout=5
    )
    assert by_header.status_code == 204
    without_access = requests.get(
        f"{sandbox_url}/livevox/session/validate", params={"sessionId": session_id}, timeout=5
    )
    assert _error(without_access, 401) == "Invalid LV-Access token"
    logout = requests.delete(f"{sandbox_url}/livevox/session/logout/{session_id}", timeout=5)
    assert logout.status_code == 204 and logout.content == b""
    assert _error(lvx_validate(sandbox_url, session_id), 401) == "Session is not valid"
    _error(requests.delete(f"{sandbox_url}/livevox/session/logout/{session_id}", timeout=5), 404)
    assert _login(lvx_login(sandbox_url))["sessionId"] != session_id


def test_sessions_slide_and_expire_after_two_idle_hours(sandbox_server: SandboxServer) -> None:
    url, clock = sandbox_server.url, sandbox_server.state.clock
    session_id = str(_login(lvx_login(url))["sessionId"])
    clock.advance(timedelta(hours=1, minutes=59))
    assert lvx_validate(url, session_id).status_code == 204
    clock.advance(timedelta(hours=1, minutes=59))
    assert _login(lvx_login(url))["sessionId"] == session_id
    clock.advance(timedelta(hours=2))
    _error(lvx_validate(url, session_id), 401)
    assert _login(lvx_login(url))["sessionId"] != session_id


def test_five_failed_logins_lock_the_user_until_a_reset(sandbox_url: str) -> None:
    control = SandboxClient(sandbox_url)
    for attempt in range(1, 6):
        _error(lvx_login(sandbox_url, "lock-me", password="wrong"), 401)
        assert control.livevox_user("lock-me") == {"failed_logins": attempt, "locked": attempt == 5}
    assert "locked" in _error(lvx_login(sandbox_url, "lock-me"), 401)  # the right password no longer helps
    assert control.livevox_user("someone-else") == {"failed_logins": 0, "locked": False}
    control.reset()
    assert control.livevox_user("lock-me") == {"failed_logins": 0, "locked": False}
    _login(lvx_login(sandbox_url, "lock-me"))


def test_a_successful_login_resets_the_failure_count(sandbox_url: str) -> None:
    control = SandboxClient(sandbox_url)
    for _ in range(4):
        _error(lvx_login(sandbox_url, "careful", password="wrong"), 401)
    _login(lvx_login(sandbox_url, "careful"))
    assert control.livevox_user("careful") == {"failed_logins": 0, "locked": False}


def test_a_password_change_ends_the_users_sessions_and_only_its_password(sandbox_url: str) -> None:
    control = SandboxClient(sandbox_url)
    old = str(_login(lvx_login(sandbox_url, "changer"))["sessionId"])
    other = str(_login(lvx_login(sandbox_url, "bystander"))["sessionId"])
    control.livevox_change_password("changer", "new-password-1")
    assert _error(lvx_validate(sandbox_url, old), 401) == "Session is not valid"
    assert lvx_validate(sandbox_url, other).status_code == 204
    _error(lvx_login(sandbox_url, "changer"), 401)  # the default password no longer works for this user
    assert _login(lvx_login(sandbox_url, "changer", password="new-password-1"))["sessionId"] != old
    _login(lvx_login(sandbox_url, "bystander"))  # the default still works for users never changed


def test_an_administrator_ends_a_session(sandbox_url: str) -> None:
    control = SandboxClient(sandbox_url)
    session_id = str(_login(lvx_login(sandbox_url))["sessionId"])
    control.livevox_end_session(session_id)
    _error(lvx_validate(sandbox_url, session_id), 401)
    with pytest.raises(RuntimeError):
        control.livevox_end_session(session_id)  # 404: no such live session


@pytest.mark.parametrize(("flag", "agent"), [("true", True), ("false", False), ("TRUE", True), (True, True)])
def test_the_agent_flag_accepts_string_forms(sandbox_url: str, flag: Any, agent: bool) -> None:
    response = requests.post(
        f"{sandbox_url}/livevox/session/login",
        json={"clientName": "SANDBOX", "userName": "Flagged", "password": "sandbox-password", "agent": flag},
        headers=LVX_ACCESS,
        timeout=5,
    )
    expected = _login(lvx_login(sandbox_url, "Flagged", agent=agent))
    assert _login(response)["sessionId"] == expected["sessionId"]


def test_agent_names_fold_ascii_only(sandbox_url: str) -> None:
    kelvin = _login(lvx_login(sandbox_url, "\u212aelvin", agent=True))  # KELVIN SIGN, not the letter K
    plain = _login(lvx_login(sandbox_url, "KELVIN", agent=True))
    assert _login(lvx_login(sandbox_url, "kelvin", agent=True))["sessionId"] == plain["sessionId"]
    assert kelvin["sessionId"] != plain["sessionId"]


def test_plain_error_shape_answers_html(sandbox_url: str) -> None:
    SandboxClient(sandbox_url).livevox_error_shape("plain")
    refused = lvx_login(sandbox_url, password="wrong")
    assert refused.status_code == 401
    assert refused.headers["Content-Type"] == "text/html" and refused.text.startswith("<html>")
    SandboxClient(sandbox_url).livevox_error_shape("json")
    _error(lvx_login(sandbox_url, password="wrong"), 401)


def test_logout_decodes_the_session_id(sandbox_url: str) -> None:
    session_id = str(_login(lvx_login(sandbox_url))["sessionId"])
    encoded = session_id.replace("-", "%2D")
    assert requests.delete(f"{sandbox_url}/livevox/session/logout/{encoded}", timeout=5).status_code == 204
    _error(lvx_validate(sandbox_url, session_id), 401)
