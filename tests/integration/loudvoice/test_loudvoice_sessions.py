"""PUT/GET/DELETE /loudvoice/sessions end to end: the handler in process, DynamoDB in moto, LoudVoice in the sandbox."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from authhooks.store import Keys

from tests.conftest import Api, AwsBackend
from tests.integration.loudvoice.calls import (
    AUTHOR_KEYS,
    BODY_KEYS,
    JOHN,
    assert_no_canary,
    keys_of,
    mint_identity,
    session_path,
    start,
    vendor_expiration,
)

Calls = Callable[[], dict[str, int]]
FULL = {
    **JOHN,
    "allow_create_new": True,
    "description": "Reads a lot",
    "picture_url": "https://example.com/john.png",
    "website_url": "https://example.com/john",
}


def _session(reply: Any, status: int, *, cached: bool) -> dict[str, Any]:
    assert reply.status == status, reply.text
    assert reply.header("Content-Type") == "application/json"
    body = reply.json()
    assert set(body) == BODY_KEYS
    assert set(body["author"]) == AUTHOR_KEYS
    assert body["cached"] is cached
    uuid.UUID(body["session_token"])
    assert body["expires_at"].endswith("Z")
    return body


def test_author_reference_creates_then_updates(
    api: Api, sandbox_url: str, aws: AwsBackend, lv: Calls, log_lines: list[str]
) -> None:
    created = _session(start(api, FULL, expires_in=3600), 201, cached=False)
    assert created["author_created"] is True
    assert created["expires_in"] == 3600
    assert created["author"] == {k: v for k, v in FULL.items() if k != "allow_create_new"} | {
        "author_token": created["author"]["author_token"]
    }
    assert created["expires_at"] == vendor_expiration(
        sandbox_url, created["author"]["author_token"], created["session_token"]
    )

    updated = _session(start(api, {**FULL, "name": "John Q. Doe"}, expires_in=3600), 200, cached=False)
    assert updated["author_created"] is False
    assert updated["author"]["name"] == "John Q. Doe"
    assert updated["author"]["author_token"] == created["author"]["author_token"]
    assert updated["session_token"] != created["session_token"]
    assert updated["expires_at"] == vendor_expiration(
        sandbox_url, updated["author"]["author_token"], updated["session_token"]
    )
    assert lv() == {"session_start": 2, "session_list": 2}
    assert_no_canary(log_lines, created["session_token"], updated["session_token"])


def test_identity_token_creates_then_finds_the_same_author(api: Api, sandbox_url: str, lv: Calls) -> None:
    identity = mint_identity(sandbox_url)
    created = _session(start(api, {"identity_token": identity}), 201, cached=False)
    assert created["author_created"] is True
    assert created["expires_in"] == 1209600, "the default lifetime"
    assert created["expires_at"] == vendor_expiration(
        sandbox_url, created["author"]["author_token"], created["session_token"]
    )

    # Another lifetime is other metadata: it goes to LoudVoice, which now knows the author.
    again = _session(start(api, {"identity_token": identity}, expires_in=7200), 200, cached=False)
    assert again["author_created"] is False
    assert again["author"]["author_token"] == created["author"]["author_token"]
    assert again["expires_at"] == vendor_expiration(
        sandbox_url, again["author"]["author_token"], again["session_token"]
    )
    assert lv()["session_start"] == 2


def test_author_token_finds_an_existing_author(api: Api, sandbox_url: str, lv: Calls) -> None:
    author_token = _session(start(api, JOHN), 201, cached=False)["author"]["author_token"]

    found = _session(start(api, {"author_token": author_token}, expires_in=600), 200, cached=False)
    assert found["author_created"] is False
    assert found["author"]["author_token"] == author_token
    assert found["author"]["author_reference"] == "USER-1"
    assert found["expires_in"] == 600
    assert found["expires_at"] == vendor_expiration(sandbox_url, author_token, found["session_token"])
    assert lv()["session_start"] == 2


def test_records_are_keyed_by_digests_only(api: Api, sandbox_url: str, aws: AwsBackend) -> None:
    identity = mint_identity(sandbox_url)
    by_reference = _session(start(api, JOHN), 201, cached=False)
    by_identity = _session(start(api, {"identity_token": identity}), 201, cached=False)
    by_token = _session(
        start(api, {"author_token": by_reference["author"]["author_token"]}, expires_in=600), 200, cached=False
    )

    keys = keys_of(aws)
    assert sorted(keys) == sorted(
        [
            Keys.lv_session(by_reference["session_token"]),
            Keys.lv_author("ref:USER-1"),
            Keys.lv_session(by_identity["session_token"]),
            Keys.lv_author(f"identity:{identity}"),
            Keys.lv_session(by_token["session_token"]),
            Keys.lv_author(f"author:{by_reference['author']['author_token']}"),
        ]
    )
    secrets = [b["session_token"] for b in (by_reference, by_identity, by_token)]
    secrets += [identity, by_reference["author"]["author_token"], "USER-1"]
    for key in keys:
        for secret in secrets:
            assert secret not in key


def test_the_same_request_twice_is_answered_from_the_store(api: Api, lv: Calls, log_lines: list[str]) -> None:
    first = _session(start(api, JOHN), 201, cached=False)
    second = _session(start(api, JOHN), 200, cached=True)

    assert lv() == {"session_start": 1}
    assert second["session_token"] == first["session_token"]
    assert second["expires_at"] == first["expires_at"], "handing a session out again slides nothing"
    assert second["author_created"] is False, "this request created nothing"
    assert second["author"] == first["author"]
    assert first["session_token"] not in "\n".join(log_lines)


def test_equivalent_requests_share_the_session(api: Api, lv: Calls) -> None:
    first = _session(start(api, {**JOHN, "email": "john@example.com"}), 201, cached=False)
    # Defaults spelt out and keys in another order are the same metadata.
    same = {"email": "john@example.com", "allow_create_new": True, "name": "John Doe", "author_reference": "USER-1"}
    second = _session(start(api, same, expires_in=1209600), 200, cached=True)
    assert second["session_token"] == first["session_token"]
    assert lv() == {"session_start": 1}


def test_changed_metadata_goes_to_the_vendor(api: Api, lv: Calls) -> None:
    _session(start(api, JOHN), 201, cached=False)
    renamed = _session(start(api, {**JOHN, "name": "Johnny"}), 200, cached=False)
    assert renamed["author"]["name"] == "Johnny"
    assert lv() == {"session_start": 2}
    # The store now follows the new metadata.
    _session(start(api, {**JOHN, "name": "Johnny"}), 200, cached=True)
    assert lv() == {"session_start": 2}


def test_a_session_past_half_its_life_is_renewed(api: Api, sandbox: Any, lv: Calls) -> None:
    def advance(seconds: int) -> None:
        # Our clock and LoudVoice's move together, as real time would.
        api.clock.advance(seconds)
        sandbox.state.clock.advance(seconds)

    first = _session(start(api, JOHN, expires_in=3600), 201, cached=False)

    advance(1700)  # well over half of 3600 left
    kept = _session(start(api, JOHN, expires_in=3600), 200, cached=True)
    assert kept["session_token"] == first["session_token"]
    assert lv() == {"session_start": 1}

    advance(200)  # 1900 s gone: less than half of 3600 left
    renewed = _session(start(api, JOHN, expires_in=3600), 200, cached=False)
    assert renewed["session_token"] != first["session_token"]
    assert lv() == {"session_start": 2}
    _session(start(api, JOHN, expires_in=3600), 200, cached=True)
    assert lv() == {"session_start": 2}


def test_get_reads_the_stored_session(api: Api, lv: Calls, log_lines: list[str]) -> None:
    started = _session(start(api, FULL), 201, cached=False)
    reply = api.get(session_path(started["session_token"]))
    body = _session(reply, 200, cached=True)
    assert body == {**started, "cached": True}
    assert lv() == {"session_start": 1}
    assert started["session_token"] not in "\n".join(log_lines)


def test_get_of_an_unknown_or_expired_session_is_404(api: Api) -> None:
    unknown = api.get(session_path(str(uuid.uuid4())))
    assert unknown.status == 404 and unknown.json()["code"] == "not_found"

    started = _session(start(api, JOHN, expires_in=60), 201, cached=False)
    api.clock.advance(61)
    expired = api.get(session_path(started["session_token"]))
    assert expired.status == 404 and expired.json()["code"] == "not_found"


def test_a_path_token_that_is_not_a_uuid_is_refused_before_the_vendor(api: Api, lv: Calls) -> None:
    for method in ("GET", "DELETE"):
        reply = api.request(method, session_path("not-a-token"))
        assert reply.status == 400, reply.text
        assert [e["field"] for e in reply.json()["errors"]] == ["session_token"]
    assert lv() == {}


def test_delete_ends_it_at_the_vendor_and_here(api: Api, aws: AwsBackend, lv: Calls, log_lines: list[str]) -> None:
    started = _session(start(api, JOHN), 201, cached=False)
    token = started["session_token"]

    first = api.delete(session_path(token))
    assert (first.status, first.body) == (204, b"")
    assert api.get(session_path(token)).status == 404
    second = api.delete(session_path(token))
    assert (second.status, second.body) == (204, b""), "already gone is still a success"
    assert lv() == {"session_start": 1, "session_delete": 2}

    assert Keys.lv_session(token) not in keys_of(aws)
    # The author no longer has a current session: the next start goes to LoudVoice.
    _session(start(api, JOHN), 200, cached=False)
    assert lv()["session_start"] == 2
    assert token not in "\n".join(log_lines)


def test_delete_of_a_session_we_never_stored_still_ends_it_at_the_vendor(api: Api, lv: Calls) -> None:
    reply = api.delete(session_path(str(uuid.uuid4())))
    assert (reply.status, reply.body) == (204, b"")
    assert lv() == {"session_delete": 1}


def test_delete_of_a_replaced_session_keeps_the_current_one(api: Api, lv: Calls) -> None:
    old = _session(start(api, JOHN), 201, cached=False)
    current = _session(start(api, {**JOHN, "name": "Johnny"}), 200, cached=False)

    assert api.delete(session_path(old["session_token"])).status == 204
    reused = _session(start(api, {**JOHN, "name": "Johnny"}), 200, cached=True)
    assert reused["session_token"] == current["session_token"]
    assert lv() == {"session_start": 2, "session_delete": 1}


def test_session_starts_are_counted_by_outcome(api: Api, emitted_metrics: Callable[[], list[dict[str, Any]]]) -> None:
    emitted_metrics()  # drop what earlier output left
    _session(start(api, JOHN), 201, cached=False)
    _session(start(api, {**JOHN, "name": "Johnny"}), 200, cached=False)
    _session(start(api, {**JOHN, "name": "Johnny"}), 200, cached=True)

    outcomes = [blob["outcome"] for blob in emitted_metrics() if "SessionStarts" in blob]
    assert outcomes == ["created", "updated", "cached"]


def test_reuse_over_moto_http_server(api_server: Api, lv: Calls) -> None:
    first = _session(start(api_server, JOHN), 201, cached=False)
    second = _session(start(api_server, JOHN), 200, cached=True)
    assert second["session_token"] == first["session_token"]
    assert lv() == {"session_start": 1}
    assert _session(api_server.get(session_path(first["session_token"])), 200, cached=True)["author"] == first["author"]
