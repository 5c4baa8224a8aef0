"""The vendor calls a real client makes, against a sandbox base URL."""

from typing import Any

import requests

BV_PASSKEY = "sandbox-bv-passkey"
LV_AUTH = ("sandbox-public-key", "sandbox-private-key")
LVX_ACCESS = {"LV-Access": "sandbox-access-token"}
LVX_PASSWORD = "sandbox-password"
TIMEOUT = 5


def mint_bv_token(url: str, **body: Any) -> dict[str, str]:
    """A fresh BV auth token (what the email link would carry)."""
    response = requests.post(f"{url}/_sandbox/bazaarvoice/tokens", json=body, timeout=TIMEOUT)
    assert response.status_code == 201
    return response.json()


def bv_exchange(
    url: str, authtoken: str | None, passkey: str = BV_PASSKEY, in_body: bool = False, **extra: Any
) -> requests.Response:
    """`POST /data/authenticateuser.json`, parameters in the query string or a form body."""
    params = {"ApiVersion": "5.4", "PassKey": passkey, **extra}
    if authtoken is not None:
        params["authtoken"] = authtoken
    endpoint = f"{url}/bazaarvoice/data/authenticateuser.json"
    if in_body:
        return requests.post(endpoint, data=params, timeout=TIMEOUT)
    return requests.post(endpoint, params=params, timeout=TIMEOUT)


def lv_author_session(author: dict[str, Any], session: dict[str, Any] | None = None) -> dict[str, Any]:
    """The LoudVoice session-start body."""
    author_session: dict[str, Any] = {"author": author}
    if session is not None:
        author_session["session"] = session
    return {"request": {"author_session": author_session}}


def lv_start(
    url: str, author: dict[str, Any], session: dict[str, Any] | None = None, auth: tuple[str, str] = LV_AUTH
) -> requests.Response:
    """`PUT /loudvoice/authors/sessions.json`."""
    return requests.put(
        f"{url}/loudvoice/loudvoice/authors/sessions.json",
        json=lv_author_session(author, session),
        auth=auth,
        timeout=TIMEOUT,
    )


def lv_delete(url: str, token: str, confirm: bool = True) -> requests.Response:
    """`DELETE /loudvoice/authors/sessions/<token>.json`."""
    params = {"confirm_deletion": "true"} if confirm else {}
    return requests.delete(
        f"{url}/loudvoice/loudvoice/authors/sessions/{token}.json", params=params, auth=LV_AUTH, timeout=TIMEOUT
    )


def lvx_login(
    url: str,
    user: str = "demo-user",
    password: str = LVX_PASSWORD,
    agent: bool = False,
    headers: dict[str, str] | None = None,
    client: str = "SANDBOX",
    path: str = "/session/login",
) -> requests.Response:
    """`POST /session/login`."""
    body = {"clientName": client, "userName": user, "password": password, "agent": agent}
    return requests.post(
        f"{url}/livevox{path}", json=body, headers=LVX_ACCESS if headers is None else headers, timeout=TIMEOUT
    )


def lvx_validate(url: str, session_id: str) -> requests.Response:
    """`GET /session/validate?sessionId=<id>`."""
    return requests.get(f"{url}/livevox/session/validate", params={"sessionId": session_id}, headers=LVX_ACCESS,
                        timeout=TIMEOUT)


def calls(url: str) -> dict[str, int]:
    """The sandbox's call counters."""
    return requests.get(f"{url}/_sandbox/calls", timeout=TIMEOUT).json()


def add_fault(url: str, **fault: Any) -> requests.Response:
    """Queue a fault."""
    response = requests.post(f"{url}/_sandbox/faults", json=fault, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return response
