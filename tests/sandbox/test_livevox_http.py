"""LiveVox session login, SSO, validate and logout over loopback HTTP."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
import requests

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
    assert valid.status_code == 200 and valid.json() == {"valid": True}
    by_header = requests.get(f"{sandbox_url}/livevox/session/validate", headers={"LV-Session": session_id}, timeout=5)
    assert by_header.status_code == 200
    logout = requests.delete(f"{sandbox_url}/livevox/session/logout/{session_id}", timeout=5)
    assert logout.status_code == 204 and logout.content == b""
    assert _error(lvx_validate(sandbox_url, session_id), 401) == "Session is not valid"
    _error(requests.delete(f"{sandbox_url}/livevox/session/logout/{session_id}", timeout=5), 404)
    assert _login(lvx_login(sandbox_url))["sessionId"] != session_id


def test_sessions_slide_and_expire_after_two_idle_hours(sandbox_server: SandboxServer) -> None:
    url, clock = sandbox_server.url, sandbox_server.state.clock
    session_id = str(_login(lvx_login(url))["sessionId"])
    clock.advance(timedelta(hours=1, minutes=59))
    assert lvx_validate(url, session_id).status_code == 200
    clock.advance(timedelta(hours=1, minutes=59))
    assert _login(lvx_login(url))["sessionId"] == session_id
    clock.advance(timedelta(hours=2))
    _error(lvx_validate(url, session_id), 401)
    assert _login(lvx_login(url))["sessionId"] != session_id
