"""LoudVoice author sessions over loopback HTTP."""

import uuid
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests

from local.sandbox.server import SandboxServer
from tests.sandbox.vendor_calls import LV_AUTH, lv_delete, lv_start

AUTHOR_KEYS = {
    "author_token", "author_reference", "name", "email", "description", "picture_url", "website_url",
    "num_comments", "date_last_comment", "date_creation", "date_last_update",
}  # fmt: skip
SESSION_KEYS = {"author_session_token", "date_creation", "date_last_update", "date_expiration", "expires_in", "author"}
FULL_AUTHOR = {
    "author_reference": "USER-1",
    "allow_create_new": True,
    "name": "John Doe",
    "email": "john.doe@example.com",
    "description": "Reads a lot",
    "picture_url": "https://example.com/john.png",
    "website_url": "https://example.com/",
}


def _session(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"response"}
    assert set(body["response"]) == {"request", "result"}
    request = body["response"]["request"]
    assert request["resource"] == "/loudvoice/authors/sessions.json"
    assert parsedate_to_datetime(request["date"]).utcoffset() == timedelta(hours=2), "OneAll's numeric offsets"
    assert request["status"]["flag"] == "success"
    assert request["status"]["code"] == status
    assert isinstance(request["status"]["info"], str)
    session = body["response"]["result"]["data"]["author_session"]
    assert set(session) == SESSION_KEYS
    assert set(session["author"]) == AUTHOR_KEYS
    uuid.UUID(session["author_session_token"])
    uuid.UUID(session["author"]["author_token"])
    return session


def _error(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"response"} and set(body["response"]) == {"request"}
    request_status = body["response"]["request"]["status"]
    assert request_status["flag"] == "error"
    assert request_status["code"] == status
    assert request_status["info"]


def test_reference_creates_then_updates(sandbox_url: str) -> None:
    created = _session(lv_start(sandbox_url, FULL_AUTHOR, {"expires_in": 3600}), 201)
    author = created["author"]
    assert {k: author[k] for k in FULL_AUTHOR if k != "allow_create_new"} == {
        k: v for k, v in FULL_AUTHOR.items() if k != "allow_create_new"
    }
    assert author["num_comments"] == 0
    assert author["date_last_comment"] is None and author["date_last_update"] is None
    assert created["expires_in"] == 3600
    assert created["date_last_update"] is None
    start = parsedate_to_datetime(created["date_creation"])
    assert parsedate_to_datetime(created["date_expiration"]) - start == timedelta(seconds=3600)
    assert created["date_creation"].endswith(" +0200")

    updated = _session(lv_start(sandbox_url, {"author_reference": "USER-1", "name": "John Q. Doe"}), 200)
    assert updated["author"]["author_token"] == author["author_token"]
    assert updated["author"]["name"] == "John Q. Doe"
    assert updated["author"]["email"] == "john.doe@example.com"
    assert updated["author"]["date_last_update"] is not None
    assert updated["author_session_token"] != created["author_session_token"]
    assert updated["expires_in"] == 1209600


def test_absent_values_are_null(sandbox_url: str) -> None:
    author = _session(lv_start(sandbox_url, {"author_reference": "U-2", "name": "Ann"}), 201)["author"]
    assert author["email"] is None and author["description"] is None
    assert author["picture_url"] is None and author["website_url"] is None


def test_unknown_reference_without_create(sandbox_url: str) -> None:
    _error(lv_start(sandbox_url, {"author_reference": "NOPE", "allow_create_new": False, "name": "N"}), 404)


@pytest.mark.parametrize(
    "author",
    [
        {"author_reference": "NEW"},
        {"author_reference": "NEW", "name": "N", "email": "not-an-email"},
        {"author_reference": "NEW", "name": "N", "picture_url": "/relative.png"},
        {"author_reference": "NEW", "name": "N", "website_url": "ftp://example.com/"},
        {"author_reference": "NEW", "author_token": str(uuid.uuid4())},
        {},
        {"author_reference": 12},
    ],
)
def test_invalid_authors(sandbox_url: str, author: dict[str, Any]) -> None:
    _error(lv_start(sandbox_url, author), 400)


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"request": {}}', b'{"request": {"author_session": 1}}'])
def test_bodies_outside_the_envelope(sandbox_url: str, body: bytes) -> None:
    response = requests.put(
        f"{sandbox_url}/loudvoice/loudvoice/authors/sessions.json", data=body, auth=LV_AUTH, timeout=5
    )
    _error(response, 400)


@pytest.mark.parametrize("auth", [(LV_AUTH[0], "wrong"), ("wrong", LV_AUTH[1]), None])
def test_bad_keys(sandbox_url: str, auth: tuple[str, str] | None) -> None:
    response = requests.put(
        f"{sandbox_url}/loudvoice/loudvoice/authors/sessions.json",
        json={"request": {"author_session": {"author": {"author_reference": "X", "name": "X"}}}},
        auth=auth,
        timeout=5,
    )
    _error(response, 401)


def test_identity_token_creates_then_finds(sandbox_url: str) -> None:
    minted = requests.post(f"{sandbox_url}/_sandbox/loudvoice/identities", timeout=5)
    assert minted.status_code == 201
    identity = minted.json()["identity_token"]
    assert uuid.UUID(identity).version == 4
    first = _session(lv_start(sandbox_url, {"identity_token": identity}), 201)
    again = _session(lv_start(sandbox_url, {"identity_token": identity}), 200)
    assert first["author"]["author_token"] == again["author"]["author_token"]
    _error(lv_start(sandbox_url, {"identity_token": str(uuid.uuid4())}), 404)


def test_author_token(sandbox_url: str) -> None:
    author_token = _session(lv_start(sandbox_url, FULL_AUTHOR), 201)["author"]["author_token"]
    found = _session(lv_start(sandbox_url, {"author_token": author_token}), 200)
    assert found["author"]["author_reference"] == "USER-1"
    _error(lv_start(sandbox_url, {"author_token": str(uuid.uuid4())}), 404)


def test_delete_semantics(sandbox_url: str) -> None:
    token = _session(lv_start(sandbox_url, FULL_AUTHOR), 201)["author_session_token"]
    _error(lv_delete(sandbox_url, token, confirm=False), 400)
    deleted = lv_delete(sandbox_url, token)
    assert deleted.status_code == 200
    status = deleted.json()["response"]["request"]["status"]
    assert status == {"flag": "success", "code": 200, "info": status["info"]}
    _error(lv_delete(sandbox_url, token), 404)
    _error(lv_delete(sandbox_url, str(uuid.uuid4())), 404)


def test_expired_session_cannot_be_deleted(sandbox_server: SandboxServer) -> None:
    token = _session(lv_start(sandbox_server.url, FULL_AUTHOR, {"expires_in": 60}), 201)["author_session_token"]
    sandbox_server.state.clock.advance(61)
    _error(lv_delete(sandbox_server.url, token), 404)


def test_list_sessions_with_filter(sandbox_url: str) -> None:
    one = _session(lv_start(sandbox_url, FULL_AUTHOR), 201)
    _session(lv_start(sandbox_url, {"author_reference": "U-2", "name": "Ann"}), 201)
    listed = requests.get(
        f"{sandbox_url}/loudvoice/loudvoice/authors/sessions.json",
        params={"filters": f"author_token:eq:{one['author']['author_token']}"},
        auth=LV_AUTH,
        timeout=5,
    )
    assert listed.status_code == 200
    sessions = listed.json()["response"]["result"]["data"]["author_sessions"]
    assert [s["author_session_token"] for s in sessions["entries"]] == [one["author_session_token"]]
    assert sessions["pagination"]["total_entries"] == 1
    everything = requests.get(f"{sandbox_url}/loudvoice/loudvoice/authors/sessions.json", auth=LV_AUTH, timeout=5)
    assert len(everything.json()["response"]["result"]["data"]["author_sessions"]["entries"]) == 2


def _page(url: str, author_token: str, **params: Any) -> tuple[list[str], dict[str, Any]]:
    listed = requests.get(
        f"{url}/loudvoice/loudvoice/authors/sessions.json",
        params={"filters": f"author_token:eq:{author_token}", **params},
        auth=LV_AUTH,
        timeout=5,
    )
    assert listed.status_code == 200, listed.text
    sessions = listed.json()["response"]["result"]["data"]["author_sessions"]
    return [s["author_session_token"] for s in sessions["entries"]], sessions["pagination"]


def test_a_list_spans_pages_newest_first(sandbox_server: SandboxServer) -> None:
    """`page` and `entries_per_page` walk the list; the `page_size` switch makes a few sessions span pages."""
    started = []
    for index in range(5):
        started.append(
            _session(lv_start(sandbox_server.url, FULL_AUTHOR), 200 if index else 201)["author_session_token"]
        )
        sandbox_server.state.clock.advance(1)  # one creation second each: the order is well defined
    author = _session(lv_start(sandbox_server.url, FULL_AUTHOR), 200)
    started.append(author["author_session_token"])
    newest_first = started[::-1]

    _switch(sandbox_server.url, page_size=4)
    first, pagination = _page(sandbox_server.url, author["author"]["author_token"])
    second, later = _page(sandbox_server.url, author["author"]["author_token"], page=2)
    beyond, _ = _page(sandbox_server.url, author["author"]["author_token"], page=3)

    assert first + second == newest_first and beyond == []
    assert pagination == {**pagination, "current_page": 1, "total_pages": 2, "entries_per_page": 4, "total_entries": 6}
    assert later["current_page"] == 2
    fewer, asked = _page(sandbox_server.url, author["author"]["author_token"], entries_per_page=2, page=3)
    assert fewer == newest_first[4:] and asked["total_pages"] == 3


@pytest.mark.parametrize("params", [{"page": "0"}, {"page": "x"}, {"entries_per_page": "-1"}])
def test_a_list_refuses_a_page_that_is_no_positive_number(sandbox_url: str, params: dict[str, str]) -> None:
    listed = requests.get(
        f"{sandbox_url}/loudvoice/loudvoice/authors/sessions.json", params=params, auth=LV_AUTH, timeout=5
    )
    assert listed.status_code == 400
    assert params.popitem()[0] in _info(listed)


def _switch(url: str, **switches: Any) -> requests.Response:
    return requests.post(f"{url}/_sandbox/loudvoice/switches", json=switches, timeout=5)


def _info(response: requests.Response) -> str:
    return response.json()["response"]["request"]["status"]["info"]


def test_refusals_name_the_node_as_oneall_does(sandbox_url: str) -> None:
    missing_name = lv_start(sandbox_url, {"author_reference": "NEW"})
    _error(missing_name, 400)
    assert _info(missing_name).startswith("The node [request->author_session->author->name] is invalid")
    bad_email = lv_start(sandbox_url, {"author_reference": "NEW", "name": "N", "email": "nope"})
    assert _info(bad_email).startswith("The node [request->author_session->author->email] is invalid")
    unknown = lv_start(sandbox_url, {"author_token": str(uuid.uuid4())})
    _error(unknown, 404)
    assert "no author has been found for that token" in _info(unknown)
    gone = lv_delete(sandbox_url, str(uuid.uuid4()))
    assert "no author session has been found for that token" in _info(gone)


def test_an_unknown_site_is_404_before_any_key_check(sandbox_url: str) -> None:
    for auth in (LV_AUTH, ("wrong", "wrong")):
        answer = requests.put(
            f"{sandbox_url}/loudvoice/sites/other/loudvoice/authors/sessions.json",
            json={"request": {"author_session": {"author": {"author_reference": "X"}}}},
            auth=auth,
            timeout=5,
        )
        _error(answer, 404)
        assert "subdomain [other]" in _info(answer)
    known = requests.put(
        f"{sandbox_url}/loudvoice/sites/sandbox/loudvoice/authors/sessions.json",
        json={"request": {"author_session": {"author": {"author_reference": "X", "name": "X"}}}},
        auth=LV_AUTH,
        timeout=5,
    )
    _session(known, 201)


def test_the_plan_limit_switch(sandbox_url: str) -> None:
    assert _switch(sandbox_url, plan_limit=True).json()["plan_limit"] is True
    refused = lv_start(sandbox_url, FULL_AUTHOR)
    _error(refused, 403)
    assert "limit" in _info(refused) and "exceeded" in _info(refused)
    _error(lv_start(sandbox_url, FULL_AUTHOR, auth=("wrong", "wrong")), 401)
    _switch(sandbox_url, plan_limit=False)
    _session(lv_start(sandbox_url, FULL_AUTHOR), 201)


def test_the_plain_errors_switch(sandbox_url: str) -> None:
    _switch(sandbox_url, plain_errors=True)
    refused = lv_start(sandbox_url, FULL_AUTHOR, auth=("wrong", "wrong"))
    assert refused.status_code == 401
    assert refused.headers["Content-Type"].startswith("text/html")
    assert refused.text.startswith("<html>")
    _session(lv_start(sandbox_url, FULL_AUTHOR), 201)  # successes keep the envelope


def test_the_date_expiration_switch_and_reset(sandbox_url: str) -> None:
    _switch(sandbox_url, date_expiration="Fri, 31 Dec 9999 23:59:59 -0200")
    assert _session(lv_start(sandbox_url, FULL_AUTHOR), 201)["date_expiration"] == "Fri, 31 Dec 9999 23:59:59 -0200"
    requests.post(f"{sandbox_url}/_sandbox/reset", timeout=5).raise_for_status()
    assert _switch(sandbox_url).json() == {
        "plan_limit": False,
        "plain_errors": False,
        "date_expiration": None,
        "reuse_session": False,
        "page_size": None,
    }


def test_the_reuse_session_switch_updates_the_authors_live_session(sandbox_url: str) -> None:
    """Off: every start is a new session beside the author's others; on: the author's newest live one is updated."""
    first = _session(lv_start(sandbox_url, FULL_AUTHOR), 201)["author_session_token"]
    second = _session(lv_start(sandbox_url, FULL_AUTHOR), 200)["author_session_token"]
    assert first != second
    _switch(sandbox_url, reuse_session=True)
    renamed = {**FULL_AUTHOR, "name": "Renamed"}
    updated = _session(lv_start(sandbox_url, renamed), 200)
    assert updated["author_session_token"] == second, "the newest live session, updated"
    assert updated["author"]["name"] == "Renamed"


@pytest.mark.parametrize(
    "body",
    [
        {"plan_limit": "yes"},
        {"date_expiration": 5},
        {"reuse_session": "yes"},
        {"page_size": 0},
        {"page_size": True},
        {"page_size": "2"},
        {"other": True},
    ],
)
def test_the_switches_refuse_what_they_do_not_know(sandbox_url: str, body: dict[str, Any]) -> None:
    assert requests.post(f"{sandbox_url}/_sandbox/loudvoice/switches", json=body, timeout=5).status_code == 400
