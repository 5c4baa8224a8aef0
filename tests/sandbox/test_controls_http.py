"""The `/_sandbox/*` controls: counters, faults, latency, reset; and the server itself."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from local.sandbox.client import SandboxClient
from local.sandbox.server import SandboxServer
from tests.sandbox.vendor_calls import (
    LVX_ACCESS,
    LVX_CLIENT,
    LVX_PASSWORD,
    add_fault,
    bv_exchange,
    calls,
    lv_start,
    lvx_login,
    lvx_validate,
    mint_bv_token,
)

REPO = Path(__file__).resolve().parents[2]

VendorCall = Callable[[str], requests.Response]


def _bv_call(url: str) -> requests.Response:
    return bv_exchange(url, mint_bv_token(url)["bv_authtoken"])


def _lv_call(url: str) -> requests.Response:
    return lv_start(url, {"author_reference": "USER-1", "name": "John"})


def _lvx_call(url: str) -> requests.Response:
    return lvx_login(url)


VENDORS: dict[str, tuple[str, VendorCall]] = {
    "bazaarvoice": ("authenticateuser", _bv_call),
    "loudvoice": ("session_start", _lv_call),
    "livevox": ("login", _lvx_call),
}


def test_health(sandbox_url: str) -> None:
    response = requests.get(f"{sandbox_url}/_sandbox/health", timeout=5)
    assert response.status_code == 200 and response.json() == {"ok": True}


def test_counters_count_every_call_and_reset(sandbox_url: str) -> None:
    assert calls(sandbox_url) == {}
    _bv_call(sandbox_url)
    bv_exchange(sandbox_url, "rejected")
    _lv_call(sandbox_url)
    login = lvx_login(sandbox_url).json()
    lvx_validate(sandbox_url, login["sessionId"])
    requests.delete(f"{sandbox_url}/livevox/session/logout/{login['sessionId']}", timeout=5)
    requests.post(f"{sandbox_url}/livevox/session/login/sso", json={}, timeout=5)
    assert calls(sandbox_url) == {
        "bazaarvoice.authenticateuser": 2,
        "loudvoice.session_start": 1,
        "livevox.login": 1,
        "livevox.validate": 1,
        "livevox.logout": 1,
        "livevox.sso_login": 1,
    }
    assert requests.delete(f"{sandbox_url}/_sandbox/calls", timeout=5).status_code == 204
    assert calls(sandbox_url) == {}


@pytest.mark.parametrize("vendor", VENDORS)
def test_error_500(sandbox_url: str, vendor: str) -> None:
    operation, call = VENDORS[vendor]
    add_fault(sandbox_url, vendor=vendor, operation=operation, mode="error_500")
    response = call(sandbox_url)
    assert response.status_code == 500
    body = response.json()
    if vendor == "bazaarvoice":
        assert body["HasErrors"] is True and body["Errors"][0]["Code"] == "ERROR_UNKNOWN"
    elif vendor == "loudvoice":
        assert body["response"]["request"]["status"]["flag"] == "error"
        assert body["response"]["request"]["status"]["code"] == 500
    else:
        assert body["code"] == 500 and body["message"]
    assert calls(sandbox_url)[f"{vendor}.{operation}"] == 1


def test_bazaarvoice_faults_use_the_problem_shape_too(sandbox_url: str) -> None:
    SandboxClient(sandbox_url).bazaarvoice_error_shape("problem")
    add_fault(sandbox_url, vendor="bazaarvoice", mode="error_500")
    add_fault(sandbox_url, vendor="bazaarvoice", mode="rate_limit")
    server_error = _bv_call(sandbox_url)
    assert server_error.status_code == 500
    assert server_error.headers["Content-Type"] == "application/problem+json"
    assert (server_error.json()["code"], server_error.json()["status"]) == ("ERROR_UNKNOWN", 500)
    limited = _bv_call(sandbox_url)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert limited.json()["code"] == "ERROR_REQUEST_LIMIT_REACHED" and limited.json()["status"] == 429


@pytest.mark.parametrize("vendor", VENDORS)
def test_rate_limit(sandbox_url: str, vendor: str) -> None:
    operation, call = VENDORS[vendor]
    add_fault(sandbox_url, vendor=vendor, operation=operation, mode="rate_limit")
    response = call(sandbox_url)
    assert response.headers["Retry-After"] == "2"
    body = response.json()
    if vendor == "bazaarvoice":
        assert response.status_code == 429  # the classic shape, with its real status
        assert body["Errors"][0]["Code"] == "ERROR_REQUEST_LIMIT_REACHED"
        assert response.headers["X-Bazaarvoice-QPM-Allotted"] == "1000"
    elif vendor == "loudvoice":
        assert response.status_code == 429
        assert body["response"]["request"]["status"]["code"] == 429
    else:
        assert response.status_code == 429
        assert body == {"code": 429, "message": "Too many requests"}


@pytest.mark.parametrize("vendor", VENDORS)
def test_garbage(sandbox_url: str, vendor: str) -> None:
    add_fault(sandbox_url, vendor=vendor, mode="garbage")
    response = VENDORS[vendor][1](sandbox_url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.text == "<html>oops"
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()


@pytest.mark.parametrize("vendor", VENDORS)
def test_reset(sandbox_url: str, vendor: str) -> None:
    add_fault(sandbox_url, vendor=vendor, mode="reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        VENDORS[vendor][1](sandbox_url)
    assert VENDORS[vendor][1](sandbox_url).status_code in (200, 201)


@pytest.mark.parametrize("vendor", VENDORS)
def test_timeout(sandbox_url: str, vendor: str) -> None:
    operation, _ = VENDORS[vendor]
    add_fault(sandbox_url, vendor=vendor, operation=operation, mode="timeout", seconds=2)
    request = {
        "bazaarvoice": lambda: requests.post(f"{sandbox_url}/bazaarvoice/data/authenticateuser.json", timeout=0.5),
        "loudvoice": lambda: requests.put(f"{sandbox_url}/loudvoice/loudvoice/authors/sessions.json", timeout=0.5),
        "livevox": lambda: requests.post(f"{sandbox_url}/livevox/session/login", timeout=0.5),
    }[vendor]
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        request()
    # The held call does not block the others: the server is threaded.
    assert requests.get(f"{sandbox_url}/_sandbox/health", timeout=1).status_code == 200
    assert time.monotonic() - started < 1.8


def test_faulted_exchange_does_not_spend_the_token(sandbox_url: str) -> None:
    token = mint_bv_token(sandbox_url)["bv_authtoken"]
    add_fault(sandbox_url, vendor="bazaarvoice", operation="authenticateuser", mode="error_500")
    assert bv_exchange(sandbox_url, token).status_code == 500
    assert bv_exchange(sandbox_url, token).json()["HasErrors"] is False
    assert calls(sandbox_url)["bazaarvoice.authenticateuser"] == 2


def test_count_faults_only_the_next_n_calls(sandbox_url: str) -> None:
    add_fault(sandbox_url, vendor="livevox", operation="login", mode="error_500", count=2)
    assert [lvx_login(sandbox_url).status_code for _ in range(3)] == [500, 500, 200]


def test_fault_applies_to_its_operation_only(sandbox_url: str) -> None:
    session_id = lvx_login(sandbox_url).json()["sessionId"]
    add_fault(sandbox_url, vendor="livevox", operation="validate", mode="error_500")
    assert lvx_login(sandbox_url).status_code == 200
    assert _bv_call(sandbox_url).status_code == 200
    assert lvx_validate(sandbox_url, session_id).status_code == 500
    assert lvx_validate(sandbox_url, session_id).status_code == 204  # LiveVox answers a valid session with 204


def test_faults_list_and_clear(sandbox_url: str) -> None:
    echoed = add_fault(sandbox_url, vendor="loudvoice", mode="rate_limit", count=3)
    assert echoed == {"vendor": "loudvoice", "operation": None, "mode": "rate_limit", "count": 3, "seconds": 10.0}
    assert requests.get(f"{sandbox_url}/_sandbox/faults", timeout=5).json() == {"faults": [echoed]}
    assert requests.delete(f"{sandbox_url}/_sandbox/faults", timeout=5).status_code == 204
    assert _lv_call(sandbox_url).status_code == 201


@pytest.mark.parametrize(
    "fault",
    [
        {"vendor": "nobody", "mode": "reset"},
        {"vendor": "livevox", "operation": "authenticateuser", "mode": "reset"},
        {"vendor": "livevox", "mode": "explode"},
        {"vendor": "livevox", "mode": "reset", "count": 0},
        {"vendor": "livevox", "mode": "timeout", "seconds": 61},
        {"vendor": "livevox", "mode": "timeout", "seconds": "2"},
    ],
)
def test_invalid_faults_are_refused(sandbox_url: str, fault: dict[str, object]) -> None:
    response = requests.post(f"{sandbox_url}/_sandbox/faults", json=fault, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_latency(sandbox_url: str) -> None:
    assert requests.post(f"{sandbox_url}/_sandbox/latency", json={"ms": 150}, timeout=5).json() == {"ms": 150}
    started = time.monotonic()
    lvx_login(sandbox_url)
    assert time.monotonic() - started >= 0.14
    started = time.monotonic()
    requests.get(f"{sandbox_url}/_sandbox/health", timeout=5)
    assert time.monotonic() - started < 0.14  # control routes are not delayed
    requests.post(f"{sandbox_url}/_sandbox/latency", json={"ms": 0}, timeout=5)
    started = time.monotonic()
    lvx_login(sandbox_url)
    assert time.monotonic() - started < 0.14
    assert requests.post(f"{sandbox_url}/_sandbox/latency", json={"ms": -1}, timeout=5).status_code == 400


def test_reset_clears_everything(sandbox_server: SandboxServer) -> None:
    url = sandbox_server.url
    token = mint_bv_token(url)["bv_authtoken"]
    session_id = lvx_login(url).json()["sessionId"]
    SandboxClient(url).bazaarvoice_error_shape("problem")
    SandboxClient(url).latency(100)
    add_fault(url, vendor="livevox", mode="error_500")
    sandbox_server.state.clock.advance(60)

    assert requests.post(f"{url}/_sandbox/reset", timeout=5).status_code == 204
    assert calls(url) == {}
    assert requests.get(f"{url}/_sandbox/faults", timeout=5).json() == {"faults": []}
    assert requests.get(f"{url}/_sandbox/latency", timeout=5).json() == {"ms": 0}
    assert lvx_validate(url, session_id).status_code == 401
    unknown = bv_exchange(url, token)
    assert unknown.status_code == 400 and unknown.json()["Errors"][0]["Code"] == "ERROR_BAD_REQUEST"  # classic again


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("GET", "/livevox/nowhere", 404),
        ("GET", "/_sandbox/nowhere", 404),
        ("PUT", "/livevox/session/login", 405),
        ("GET", "/_sandbox/reset", 405),
    ],
)
def test_unrouted(sandbox_url: str, method: str, path: str, status: int) -> None:
    response = requests.request(method, f"{sandbox_url}{path}", timeout=5)
    assert response.status_code == status
    assert set(response.json()) == {"error", "message"}
    assert calls(sandbox_url) == {}


def test_keep_alive_survives_faults(sandbox_url: str) -> None:
    add_fault(sandbox_url, vendor="livevox", operation="login", mode="garbage")
    with requests.Session() as session:
        for expected in ("<html>oops", "sessionId", "sessionId"):
            response = session.post(
                f"{sandbox_url}/livevox/session/login",
                json={"clientName": LVX_CLIENT, "userName": "u", "password": LVX_PASSWORD, "agent": False},
                headers=LVX_ACCESS,
                timeout=5,
            )
            assert expected in response.text


def test_stop_is_idempotent_and_frees_the_port() -> None:
    server = SandboxServer(port=0).start()
    url = server.url
    server.stop()
    server.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{url}/_sandbox/health", timeout=1)
    SandboxServer(port=0).stop()  # never started


def test_module_runs_in_the_foreground_and_stops_on_ctrl_c() -> None:
    env = {**os.environ, "AUTHHOOKS_SANDBOX_PORT": "0", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "local.sandbox"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith("Vendor sandboxes on http://127.0.0.1:")
        url = banner.split(" on ", 1)[1].strip()
        assert requests.get(f"{url}/_sandbox/health", timeout=5).json() == {"ok": True}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
