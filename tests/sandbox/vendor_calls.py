"""The vendor calls a real client makes, against a sandbox base URL."""

from typing import Any

import requests

from local.sandbox import bazaarvoice, livevox, loudvoice
from local.sandbox.client import SandboxClient

BV_PASSKEY = bazaarvoice.PASSKEY
LV_AUTH = (loudvoice.PUBLIC_KEY, loudvoice.PRIVATE_KEY)
LVX_ACCESS = {"LV-Access": livevox.ACCESS_TOKEN}
LVX_PASSWORD = livevox.PASSWORD
LVX_CLIENT = livevox.CLIENT_NAME
TIMEOUT = 5


def mint_bv_token(url: str, **body: Any) -> dict[str, str]:
    """A fresh BV auth token (what the email link would carry)."""
    return SandboxClient(url).mint_bazaarvoice_token(**body)


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
    client: str = LVX_CLIENT,
    path: str = "/session/login",
) -> requests.Response:
    """`POST /session/login`."""
    body = {"clientName": client, "userName": user, "password": password, "agent": agent}
    return requests.post(
        f"{url}/livevox{path}", json=body, headers=LVX_ACCESS if headers is None else headers, timeout=TIMEOUT
    )


def lvx_validate(url: str, session_id: str) -> requests.Response:
    """`GET /session/validate?sessionId=<id>`."""
    return requests.get(
        f"{url}/livevox/session/validate", params={"sessionId": session_id}, headers=LVX_ACCESS, timeout=TIMEOUT
    )


def calls(url: str) -> dict[str, int]:
    """The sandbox's call counters."""
    return SandboxClient(url).calls()


def add_fault(
    url: str, vendor: str, mode: str, operation: str | None = None, count: int = 1, seconds: float | None = None
) -> dict[str, Any]:
    """Queue a fault."""
    return SandboxClient(url).fault(vendor, operation, mode, count, seconds)
