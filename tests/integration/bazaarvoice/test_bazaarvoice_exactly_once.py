"""Exactly once, nothing lost: store outages after Bazaarvoice's yes, lost user records, double submits,
repeated refused tokens, the token handed out once, and erasure (moto, the sandbox, the AWS fault proxy)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from authhooks import settings
from authhooks.store import digest

from local.sandbox.client import SandboxClient
from tests.conftest import STORE_ATTEMPTS, Api, AwsBackend
from tests.integration.bazaarvoice.conftest import confirm_form, confirm_json, page_of

PERSISTENT = 1000  # more DynamoDB requests than any retry makes
TABLE = "authhooks-tokens"


def keys(aws: AwsBackend) -> set[str]:
    return {item["pk"]["S"] for item in aws.items()}


def metrics_named(out: str, name: str) -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    return [doc for doc in docs if name in doc]


def wait_until(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def while_bazaarvoice_answers(
    api: Api, sandbox_client: SandboxClient, send: Callable[[], Any], then: Callable[[], None]
) -> Any:
    """Send a POST and, once it holds its in-progress lease and waits on Bazaarvoice (800 ms), run ``then``."""
    sandbox_client.latency(800)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(send)
        wait_until(lambda: sandbox_client.calls().get("dynamodb.PutItem", 0) >= 1)  # the lease is taken
        then()
        return pending.result(timeout=60)


# --- a store outage after Bazaarvoice said yes --------------------------------------------------------------------


def test_a_store_that_stays_down_after_bazaarvoices_yes_still_answers_success_with_the_token(
    api_faults: Api,
    aws_server: AwsBackend,
    sandbox_client: SandboxClient,
    log_lines: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    minted = sandbox_client.mint_bazaarvoice_token()
    reply = while_bazaarvoice_answers(
        api_faults,
        sandbox_client,
        lambda: confirm_json(api_faults, {"bv_authtoken": minted["bv_authtoken"]}),
        lambda: sandbox_client.fault("dynamodb", "PutItem", "error_500", count=PERSISTENT),
    )
    assert reply.status == 200, reply.text
    body = reply.json()
    assert body["already_confirmed"] is False and body["bv_user_id"] == minted["bv_user_id"]
    assert body["user_token"]  # Bazaarvoice did confirm: the caller keeps the token
    # The lease, then more than one store call's attempts (fewer once botocore's retry quota is spent).
    assert sandbox_client.calls()["dynamodb.PutItem"] > 1 + STORE_ATTEMPTS
    assert sandbox_client.calls()["bazaarvoice.authenticateuser"] == 1
    reported = [line for line in log_lines if "user token could not be stored" in line]
    assert len(reported) == 1 and '"level":"ERROR"' in reported[0] and body["user_token"] not in reported[0]
    assert len(metrics_named(capsys.readouterr().out, "UserTokensNotStored")) == 1
    assert not {k for k in keys(aws_server) if k.startswith(("bv#confirm#", "bv#user#"))}


def test_a_short_store_outage_after_bazaarvoices_yes_is_retried_and_the_page_is_success(
    api_faults: Api, aws_server: AwsBackend, sandbox_client: SandboxClient, capsys: pytest.CaptureFixture[str]
) -> None:
    minted = sandbox_client.mint_bazaarvoice_token()
    # Every attempt of one store call fails: the confirmation's first write, tried again within the window.
    reply = while_bazaarvoice_answers(
        api_faults,
        sandbox_client,
        lambda: confirm_form(api_faults, minted["bv_authtoken"]),
        lambda: sandbox_client.fault("dynamodb", "PutItem", "error_500", count=STORE_ATTEMPTS),
    )
    assert reply.status == 200
    assert "Your email address is confirmed" in page_of(reply).text
    assert sandbox_client.faults() == []
    user_id = minted["bv_user_id"]
    assert {f"bv#confirm#{digest(minted['bv_authtoken'])}", f"bv#user#{user_id}"} <= keys(aws_server)
    assert metrics_named(capsys.readouterr().out, "UserTokensNotStored") == []
    assert api_faults.get(f"/bazaarvoice/users/{user_id}").status == 200
    again = confirm_json(api_faults, {"bv_authtoken": minted["bv_authtoken"]})
    assert again.json()["already_confirmed"] is True
    assert sandbox_client.calls()["bazaarvoice.authenticateuser"] == 1


# --- a lost user record is repaired -------------------------------------------------------------------------------


def test_a_repeat_restores_a_lost_user_record(
    api: Api, aws: AwsBackend, mint: Callable, bv_calls: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    minted = mint()
    user_path = f"/bazaarvoice/users/{minted['bv_user_id']}"
    user_token = confirm_json(api, {"bv_authtoken": minted["bv_authtoken"]}).json()["user_token"]
    aws.dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": f"bv#user#{minted['bv_user_id']}"}})
    assert api.get(user_path).status == 404
    again = confirm_form(api, minted["bv_authtoken"])
    assert again.status == 200 and "already confirmed" in page_of(again).text
    restored = api.get(user_path)
    assert restored.status == 200 and restored.json()["user_token"] == user_token
    assert len(metrics_named(capsys.readouterr().out, "UserRecordsRepaired")) == 1
    assert bv_calls() == 1


def test_a_repair_never_replaces_a_newer_user_token(api: Api, aws: AwsBackend, mint: Callable) -> None:
    first, second = mint(email="twice@example.com"), mint(email="twice@example.com")
    confirm_json(api, {"bv_authtoken": first["bv_authtoken"]})
    api.clock.advance(60)
    newer = confirm_json(api, {"bv_authtoken": second["bv_authtoken"]}).json()["user_token"]
    confirm_json(api, {"bv_authtoken": first["bv_authtoken"]})  # the older link again: its user record is there
    assert api.get(f"/bazaarvoice/users/{first['bv_user_id']}").json()["user_token"] == newer


# --- double submits -----------------------------------------------------------------------------------------------


def test_20_concurrent_double_submits_with_a_slow_vendor_each_make_one_call_and_all_succeed(
    api_server: Api, aws_server: AwsBackend, sandbox_client: SandboxClient
) -> None:
    api_server.handler("BazaarvoiceConfirmFunction")
    settings.secret(settings.bazaarvoice().secret_name)  # warm, as a container would be
    sandbox_client.latency(150)
    tokens = [sandbox_client.mint_bazaarvoice_token()["bv_authtoken"] for _ in range(20)]
    bodies = [{"bv_authtoken": token} for token in tokens for _ in range(2)]
    barrier = threading.Barrier(len(bodies))

    def post(body: dict[str, str]) -> Any:
        barrier.wait(timeout=30)
        return confirm_json(api_server, body)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        replies = list(pool.map(post, bodies))
    assert [r.status for r in replies] == [200] * 40, [r.text for r in replies if r.status != 200]
    assert sandbox_client.calls()["bazaarvoice.authenticateuser"] == 20
    for pair in range(20):
        first, second = (replies[2 * pair + i].json() for i in range(2))
        assert Counter((first["already_confirmed"], second["already_confirmed"])) == {False: 1, True: 1}
        assert sum("user_token" in answer for answer in (first, second)) == 1  # handed out once
    assert not [k for k in keys(aws_server) if k.startswith("bv#pending#")]  # every lease given back


# --- refused tokens -----------------------------------------------------------------------------------------------


def test_30_posts_of_one_refused_token_make_one_bazaarvoice_call(api: Api, bv_calls: Callable, aws: AwsBackend) -> None:
    for _ in range(30):
        reply = confirm_json(api, {"bv_authtoken": "made-up-token"})
        assert reply.status == 400 and reply.json()["code"] == "token_invalid"
    page = confirm_form(api, "made-up-token")
    assert "This link has expired or was already used" in page_of(page).text
    assert bv_calls() == 1
    assert keys(aws) == {f"bv#refused#{digest('made-up-token')}"}


def test_a_refusal_is_remembered_for_the_configured_minutes(
    api: Api, bv_calls: Callable, bv_settings: Callable
) -> None:
    bv_settings(BAZAARVOICE_REFUSED_TOKEN_MINUTES="2")
    confirm_json(api, {"bv_authtoken": "made-up-token"})
    api.clock.advance(119)
    confirm_json(api, {"bv_authtoken": "made-up-token"})
    assert bv_calls() == 1
    api.clock.advance(1)
    assert confirm_json(api, {"bv_authtoken": "made-up-token"}).status == 400
    assert bv_calls() == 2


def test_a_token_refused_for_our_configuration_is_not_remembered(
    api: Api, mint: Callable, passkey: Callable, bv_calls: Callable
) -> None:
    token = mint()["bv_authtoken"]
    passkey("not-the-passkey")
    assert confirm_json(api, {"bv_authtoken": token}).status == 502
    passkey("sandbox-bv-passkey")
    assert confirm_json(api, {"bv_authtoken": token}).status == 200  # the shopper's link still works
    assert bv_calls() == 2


# --- the token is handed out once ---------------------------------------------------------------------------------


def test_only_the_exchange_and_the_iam_route_hand_out_the_user_token(api: Api, mint: Callable) -> None:
    minted = mint()
    first = confirm_json(api, {"bv_authtoken": minted["bv_authtoken"]}).json()
    for _ in range(3):
        again = confirm_json(api, {"bv_authtoken": minted["bv_authtoken"]})
        assert again.status == 200 and again.json()["already_confirmed"] is True
        assert "user_token" not in again.json() and first["user_token"] not in again.text
    stored = api.get(f"/bazaarvoice/users/{minted['bv_user_id']}")
    assert stored.json()["user_token"] == first["user_token"]


# --- erasure ------------------------------------------------------------------------------------------------------


def test_erasure_removes_the_user_and_every_confirmation_without_a_scan(
    api_faults: Api, aws_server: AwsBackend, sandbox_client: SandboxClient
) -> None:
    mine = [sandbox_client.mint_bazaarvoice_token(email="erase@example.com") for _ in range(3)]
    other = sandbox_client.mint_bazaarvoice_token(email="keep@example.com")
    for minted in [*mine, other]:
        assert confirm_json(api_faults, {"bv_authtoken": minted["bv_authtoken"]}).status == 200
    user_id = mine[0]["bv_user_id"]
    before = keys(aws_server)
    sandbox_client.clear_calls()
    reply = api_faults.delete(f"/bazaarvoice/users/{user_id}")
    assert reply.status == 204 and reply.body == b""
    assert reply.event["requestContext"]["authorizer"]["iam"]  # an IAM route
    gone = {
        f"bv#user#{user_id}",
        f"bv#userconfirm#{user_id}",
        *(f"bv#confirm#{digest(m['bv_authtoken'])}" for m in mine),
    }
    assert gone <= before and keys(aws_server) == before - gone
    assert "dynamodb.Scan" not in sandbox_client.calls() and "dynamodb.Query" not in sandbox_client.calls()
    assert api_faults.get(f"/bazaarvoice/users/{user_id}").status == 404
    assert api_faults.get(f"/bazaarvoice/users/{other['bv_user_id']}").status == 200
    assert api_faults.delete(f"/bazaarvoice/users/{user_id}").status == 204  # nothing there: still 204
    assert api_faults.delete("/bazaarvoice/users/never-confirmed").status == 204


def test_erasure_also_removes_expired_records_the_table_still_holds(api: Api, aws: AwsBackend, mint: Callable) -> None:
    minted = mint(maxage=1)
    confirm_json(api, {"bv_authtoken": minted["bv_authtoken"]})
    api.clock.advance(3 * 86400)  # past the token's lifetime; DynamoDB's TTL has not run yet
    assert len(keys(aws)) == 3
    assert api.delete(f"/bazaarvoice/users/{minted['bv_user_id']}").status == 204
    assert keys(aws) == set()
