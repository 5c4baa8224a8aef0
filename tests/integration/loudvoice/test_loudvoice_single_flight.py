"""One LoudVoice session per author under concurrency: the starts of one author take a lease in the store.

A site renders several widgets at once, a shopper opens two tabs, a client retries: those starts of one author
must make one LoudVoice call and hand out one session, or every session but the stored one stays live at
LoudVoice, unknown to us, until it expires (and each call counts against the OneAll plan's limits).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from authhooks.store import Keys

from local.sandbox.client import SandboxClient
from tests.conftest import Api, AwsBackend
from tests.integration.loudvoice.calls import JOHN, lv_calls, start

CONCURRENT = 16
EVERY_ATTEMPT = 50  # more requests than any retry makes
LATENCY_MS = 150


def _all_at_once(api: Api, authors: list[dict[str, Any]]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(authors)) as pool:
        return list(pool.map(lambda author: start(api, author), authors))


def test_16_concurrent_starts_of_one_new_author_make_one_loudvoice_call_and_one_session(
    api_server: Api, aws_server: AwsBackend, sandbox: Any, sandbox_client: SandboxClient
) -> None:
    sandbox_client.latency(LATENCY_MS)

    replies = _all_at_once(api_server, [JOHN] * CONCURRENT)

    assert all(r.status in (200, 201) for r in replies), [r.text for r in replies if r.status >= 300]
    bodies = [r.json() for r in replies]
    assert lv_calls(sandbox.url).get("session_start") == 1
    assert len({b["session_token"] for b in bodies}) == 1, "every caller has the one session"
    assert sorted(b["cached"] for b in bodies) == [False] + [True] * (CONCURRENT - 1)
    token = bodies[0]["session_token"]
    live = [s.author_session_token for s in sandbox.state.loudvoice.list_sessions()]
    assert live == [token], "no other session is live at LoudVoice"
    again = start(api_server, JOHN).json()
    assert again["session_token"] == token and again["cached"] is True
    assert lv_calls(sandbox.url).get("session_start") == 1
    leases = [i for i in aws_server.items() if i["pk"]["S"] == Keys.lv_lock(f"ref:{JOHN['author_reference']}")]
    assert leases == [], "the lease is given back"


def test_starts_of_two_authors_at_once_do_not_wait_for_each_other(
    api_server: Api, sandbox: Any, sandbox_client: SandboxClient
) -> None:
    sandbox_client.latency(LATENCY_MS)
    other = {**JOHN, "author_reference": "USER-2", "email": "jane@example.com", "name": "Jane Roe"}

    replies = _all_at_once(api_server, [JOHN, other] * 4)

    bodies = [r.json() for r in replies]
    assert lv_calls(sandbox.url).get("session_start") == 2, "one call per author"
    by_author: dict[str, set[str]] = {}
    for body in bodies:
        by_author.setdefault(body["author"]["author_reference"], set()).add(body["session_token"])
    assert {ref: len(tokens) for ref, tokens in by_author.items()} == {"USER-1": 1, "USER-2": 1}


def test_concurrent_starts_with_other_metadata_take_turns_and_end_on_what_loudvoice_confirmed_last(
    api_server: Api, sandbox: Any, sandbox_client: SandboxClient
) -> None:
    sandbox_client.latency(LATENCY_MS)
    names = ["First", "Second", "Third"]

    asked = [{**JOHN, "name": name} for name in names for _ in range(3)]

    replies = _all_at_once(api_server, asked)

    assert all(r.status in (200, 201) for r in replies), [r.text for r in replies if r.status >= 300]
    # Each start answers its own metadata, as LoudVoice confirmed it (a start reuses a stored session only when
    # the stored metadata is its own); one call at a time, so never more calls than starts.
    assert [r.json()["author"]["name"] for r in replies] == [a["name"] for a in asked]
    assert len(names) <= lv_calls(sandbox.url)["session_start"] <= len(asked)
    sandbox_client.latency(0)
    final = start(api_server, {**JOHN, "name": "Final"}).json()
    vendor = sandbox.state.loudvoice.session(final["session_token"])
    assert vendor is not None and vendor.author.name == "Final"
    assert start(api_server, {**JOHN, "name": "Final"}).json()["cached"] is True


# --- no session left live at LoudVoice that the store does not hold ----------------------------------------------


def _store_writes_fail(sandbox_client: SandboxClient) -> None:
    """Every DynamoDB write from now on fails (more requests than any retry makes), until the test clears it."""
    sandbox_client.fault("dynamodb", "PutItem", "error_500", count=EVERY_ATTEMPT)


def _when_loudvoice_answers(api: Api, sandbox_client: SandboxClient, author: dict[str, Any], fault: Any) -> Any:
    """Start a session and, once the start holds its lease and waits on LoudVoice (400 ms), plan ``fault``."""
    sandbox_client.latency(400)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(start, api, author)
        deadline = time.monotonic() + 10
        while sandbox_client.calls().get("dynamodb.PutItem", 0) < 1:  # the lease is taken
            assert time.monotonic() < deadline, "the start never took its lease"
            time.sleep(0.01)
        fault()
        return pending.result(timeout=60)


@pytest.mark.parametrize("reuse_session", [False, True], ids=["new-session-per-start", "updates-the-session"])
def test_a_store_fault_after_loudvoices_yes_ends_that_session_at_loudvoice(
    api_faults: Api,
    sandbox: Any,
    sandbox_client: SandboxClient,
    capsys: pytest.CaptureFixture[str],
    reuse_session: bool,
) -> None:
    sandbox_client.loudvoice_switches(reuse_session=reuse_session)
    reply = _when_loudvoice_answers(
        api_faults,
        sandbox_client,
        JOHN,
        lambda: _store_writes_fail(sandbox_client),
    )
    sandbox_client.clear_faults()

    assert reply.status == 503 and reply.json()["code"] == "store_unavailable", reply.text
    assert lv_calls(sandbox.url).get("session_start") == 1
    assert sandbox.state.loudvoice.list_sessions() == [], "the session we could not keep is ended at LoudVoice"
    out = capsys.readouterr().out
    assert '"UnkeptSessionsEnded"' in out and '"UnkeptSessionsLeftLive"' not in out
    body = start(api_faults, JOHN).json()  # the repeat starts a session the store holds
    assert [s.author_session_token for s in sandbox.state.loudvoice.list_sessions()] == [body["session_token"]]


def test_a_session_that_cannot_be_ended_either_is_counted_for_the_alarm(
    api_faults: Api, sandbox: Any, sandbox_client: SandboxClient, capsys: pytest.CaptureFixture[str]
) -> None:
    def store_and_loudvoice_fail() -> None:
        _store_writes_fail(sandbox_client)
        sandbox_client.fault("loudvoice", "session_delete", "error_500", count=EVERY_ATTEMPT)

    reply = _when_loudvoice_answers(api_faults, sandbox_client, JOHN, store_and_loudvoice_fail)
    sandbox_client.clear_faults()

    assert reply.status == 503 and reply.json()["code"] == "store_unavailable", reply.text
    assert len(sandbox.state.loudvoice.list_sessions()) == 1
    assert '"UnkeptSessionsLeftLive"' in capsys.readouterr().out


def _stored_tokens(aws: AwsBackend) -> set[str]:
    return {i["session_token"]["S"] for i in aws.items() if i["pk"]["S"].startswith("lv#session#")}


@pytest.mark.parametrize("reuse_session", [False, True], ids=["new-session-per-start", "updates-the-session"])
def test_a_store_fault_while_changing_metadata_leaves_no_live_session_the_store_does_not_hold(
    api_faults: Api, aws_server: AwsBackend, sandbox: Any, sandbox_client: SandboxClient, reuse_session: bool
) -> None:
    sandbox_client.loudvoice_switches(reuse_session=reuse_session)
    held = start(api_faults, JOHN).json()["session_token"]
    renamed = {**JOHN, "name": "John Renamed"}

    reply = _when_loudvoice_answers(
        api_faults,
        sandbox_client,
        renamed,
        lambda: _store_writes_fail(sandbox_client),
    )
    sandbox_client.clear_faults()
    sandbox_client.latency(0)

    assert reply.status == 503, reply.text
    live = {s.author_session_token for s in sandbox.state.loudvoice.list_sessions()}
    assert live <= _stored_tokens(aws_server), "every session live at LoudVoice is one the store holds"
    # LoudVoice's update of the session we hold is kept (ending it would end the author's current session).
    assert (held in live) is True
    body = start(api_faults, renamed).json()
    assert body["author"]["name"] == "John Renamed" and body["cached"] is False
    live = {s.author_session_token for s in sandbox.state.loudvoice.list_sessions()}
    assert live <= _stored_tokens(aws_server)
