"""LoudVoice without stale answers: races between starts and DELETEs, and DELETEs whose store step failed.

Requests run in threads of this process against moto's HTTP server behind the AWS fault proxy. The races are
made reproducible with the sandbox's vendor latency and a held DynamoDB request (a ``timeout`` fault of 1 s,
after which botocore retries), never by luck. The invariant checked throughout: whatever we answer with a session
(a start, cached or not, or a GET) is a session LoudVoice still has, with the author metadata LoudVoice holds.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from authhooks.store import Keys

from local.sandbox.client import SandboxClient
from tests.conftest import Api, AwsBackend
from tests.integration.loudvoice.calls import JOHN, keys_of, lv_calls, session_path, start

LATENCY_MS = 400
HELD_SECONDS = 1.0  # how long the proxy holds a faulted DynamoDB request before dropping it (botocore retries)
EVERY_ATTEMPT = 10  # more attempts than botocore makes for one request: that request fails; cleared right after


def _session(reply: Any) -> dict[str, Any]:
    assert reply.status in (200, 201), reply.text
    return reply.json()


def _agrees_with_loudvoice(sandbox: Any, reply: Any) -> dict[str, Any]:
    """The session we answered with is one LoudVoice still has, and its author is what LoudVoice holds now."""
    body = _session(reply)
    vendor = sandbox.state.loudvoice.session(body["session_token"])
    assert vendor is not None, f"answered (cached={body['cached']}) with a session LoudVoice has ended"
    held = {key: getattr(vendor.author, key) for key in ("name", "email", "author_reference", "author_token")}
    assert {key: body["author"][key] for key in held} == held, f"cached={body['cached']} disagrees with LoudVoice"
    return body


def test_a_start_racing_a_delete_is_never_served_the_ended_session(
    api_faults: Api, sandbox: Any, sandbox_client: SandboxClient
) -> None:
    token = _session(start(api_faults, JOHN))["session_token"]
    sandbox_client.latency(LATENCY_MS)
    # The DELETE's store step after LoudVoice's answer is held: a window in which LoudVoice has ended the session.
    sandbox_client.fault("dynamodb", "DeleteItem", "timeout", count=1, seconds=HELD_SECONDS)

    with ThreadPoolExecutor(max_workers=2) as pool:
        deleting = pool.submit(api_faults.delete, session_path(token))
        time.sleep((LATENCY_MS + 300) / 1000)  # LoudVoice has answered the DELETE; its store step is held
        racing = pool.submit(start, api_faults, JOHN)
        ended, raced = deleting.result(timeout=30), racing.result(timeout=30)

    assert ended.status == 204, ended.text
    assert sandbox.state.loudvoice.session(token) is None
    assert _agrees_with_loudvoice(sandbox, raced)["session_token"] != token
    later = _agrees_with_loudvoice(sandbox, start(api_faults, JOHN))
    assert later["session_token"] != token
    assert api_faults.get(session_path(token)).status == 404


@pytest.mark.parametrize("operation", ["DeleteItem", "UpdateItem"])
def test_a_delete_whose_store_step_failed_leaves_nothing_stale(
    operation: str, api_faults: Api, aws_server: AwsBackend, sandbox: Any, sandbox_client: SandboxClient
) -> None:
    token = _session(start(api_faults, JOHN))["session_token"]
    sandbox_client.fault("dynamodb", operation, "error_500", count=EVERY_ATTEMPT)

    failed = api_faults.delete(session_path(token))

    assert (failed.status, failed.json()["code"]) == (503, "store_unavailable"), failed.text
    sandbox_client.clear_faults()
    loudvoice_has_it = sandbox.state.loudvoice.session(token) is not None
    # The next start is never served a session LoudVoice ended (nor anything it disagrees with).
    _agrees_with_loudvoice(sandbox, start(api_faults, JOHN))
    # GET answers the session exactly when LoudVoice still has it; a half-done end is finished here.
    got = api_faults.get(session_path(token))
    assert got.status == (200 if loudvoice_has_it else 404), got.text
    # Trying the DELETE again finishes it either way.
    assert api_faults.delete(session_path(token)).status == 204
    assert sandbox.state.loudvoice.session(token) is None
    assert api_faults.get(session_path(token)).status == 404
    assert Keys.lv_session(token) not in keys_of(aws_server)


def test_a_get_after_a_half_done_delete_finishes_it(
    api_faults: Api, aws_server: AwsBackend, sandbox: Any, sandbox_client: SandboxClient
) -> None:
    token = _session(start(api_faults, JOHN))["session_token"]
    sandbox_client.fault("dynamodb", "DeleteItem", "error_500", count=EVERY_ATTEMPT)
    assert api_faults.delete(session_path(token)).status == 503
    sandbox_client.clear_faults()
    assert sandbox.state.loudvoice.session(token) is None, "LoudVoice did end it"

    assert api_faults.get(session_path(token)).status == 404
    assert Keys.lv_session(token) not in keys_of(aws_server), "the end was finished, not just hidden"


def test_concurrent_starts_with_different_metadata_converge_on_what_loudvoice_confirmed(
    api_faults: Api, sandbox: Any, sandbox_client: SandboxClient
) -> None:
    _session(start(api_faults, JOHN))  # the author record exists: both starts below read its version
    first, second = {**JOHN, "name": "First"}, {**JOHN, "name": "Second"}
    sandbox_client.latency(LATENCY_MS)
    # The first store write of the run is held (whichever start makes it): a store hiccup inside the race.
    sandbox_client.fault("dynamodb", "PutItem", "timeout", count=1, seconds=HELD_SECONDS)
    before = lv_calls(sandbox.url)

    with ThreadPoolExecutor(max_workers=2) as pool:
        one = pool.submit(start, api_faults, first)
        time.sleep(0.15)
        two = pool.submit(start, api_faults, second)
        replies = one.result(timeout=30), two.result(timeout=30)

    assert [_session(r)["author"]["name"] for r in replies] == ["First", "Second"]
    # One after the other behind the author's lease: each metadata told to LoudVoice once, neither call lost.
    assert lv_calls(sandbox.url)["session_start"] - before["session_start"] == 2
    assert not any(r.json()["cached"] for r in replies)
    sandbox_client.latency(0)
    # Later starts are never served a cache that disagrees with LoudVoice, whichever metadata they carry.
    for metadata in (first, first, second, second, first):
        _agrees_with_loudvoice(sandbox, start(api_faults, metadata))
    assert start(api_faults, first).json()["cached"] is True, "and the store converged: reuse works again"


def test_a_half_done_delete_stays_ended_when_finishing_it_fails(
    api_faults: Api, sandbox: Any, sandbox_client: SandboxClient
) -> None:
    token = _session(start(api_faults, JOHN))["session_token"]
    sandbox_client.fault("dynamodb", "DeleteItem", "error_500", count=EVERY_ATTEMPT)
    assert api_faults.delete(session_path(token)).status == 503
    sandbox_client.clear_faults()
    sandbox_client.fault("loudvoice", "session_delete", "error_500", count=EVERY_ATTEMPT)

    assert api_faults.get(session_path(token)).status == 503, "LoudVoice could not confirm the end"

    sandbox_client.clear_faults()
    assert api_faults.get(session_path(token)).status == 404, "still ended: never handed out again"
