"""The landing routes in process (real payload 2.0 events, moto, the sandbox): pages, JSON, the store, metrics."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from authhooks.store import digest

from tests.conftest import Api, AwsBackend
from tests.contract import VENDOR_FAULT_ANSWERS
from tests.integration.bazaarvoice.conftest import JSON_ACCEPT, LANDING, confirm_form, confirm_json, page_of

ALLOWED = "https://shop.example.com/account/reviews?tab=mine"


def script_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def table(aws: AwsBackend) -> dict[str, dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    plain = TypeDeserializer()
    return {item["pk"]["S"]: {k: plain.deserialize(v) for k, v in item.items()} for item in aws.items()}


# --- GET: the email link --------------------------------------------------------------------------------------------


def test_the_link_renders_a_page_that_confirms_by_script_and_never_calls_bazaarvoice(
    api: Api, mint: Callable, bv_calls: Callable, aws: AwsBackend
) -> None:
    token = mint()["bv_authtoken"]
    reply = api.get(LANDING, query={"bv_authtoken": token, "return_to": ALLOWED})
    assert reply.status == 200
    page = page_of(reply)
    form = page.one("form", id="confirm-form")
    assert form == {"id": "confirm-form", "method": "post", "action": "confirm"}
    assert page.field("bv_authtoken") == token
    assert page.field("return_to") == ALLOWED
    assert len(page.scripts) == 1 and page.scripts[0].endswith('document.getElementById("confirm-form").submit();')
    assert page.one("p", id="confirm-status", role="status") is not None  # the live region it announces in
    assert script_hash(page.scripts[0]) in (reply.header("Content-Security-Policy") or "")
    assert "<noscript>" in reply.text and "Confirm my email address" in reply.text
    assert bv_calls() == 0 and aws.items() == []


def test_button_mode_shows_a_real_button_and_no_script(
    api: Api, mint: Callable, bv_settings: Callable, bv_calls: Callable
) -> None:
    bv_settings(BAZAARVOICE_CONFIRM_MODE="button")
    reply = api.get(LANDING, query={"bv_authtoken": mint()["bv_authtoken"]})
    page = page_of(reply)
    assert page.scripts == [] and "<script" not in reply.text and "<noscript>" not in reply.text
    assert page.one("button", type="submit") is not None
    assert bv_calls() == 0


def test_a_json_caller_is_told_how_to_confirm(api: Api, mint: Callable, bv_calls: Callable) -> None:
    reply = api.get(LANDING, query={"bv_authtoken": mint()["bv_authtoken"]}, headers=JSON_ACCEPT)
    assert reply.status == 200
    assert reply.json() == {"status": "unconfirmed", "confirm_with": "POST /bazaarvoice/confirm"}
    assert bv_calls() == 0


@pytest.mark.parametrize(
    "query",
    [{}, {"bv_authtoken": ""}, {"bv_authtoken": "   "}, {"bv_authtoken": "x" * 513}],
    ids=["missing", "empty", "blank", "too-long"],
)
def test_an_incomplete_link_is_a_400_page_or_problem(api: Api, bv_calls: Callable, query: dict[str, str]) -> None:
    reply = api.get(LANDING, query=query)
    assert reply.status == 400
    page = page_of(reply)
    assert "This link is incomplete" in page.text
    assert page.all("form") == []
    problem = api.get(LANDING, query=query, headers=JSON_ACCEPT)
    assert problem.status == 400 and problem.header("Content-Type") == "application/problem+json"
    assert problem.json()["code"] == "invalid_request"
    assert [e["field"] for e in problem.json()["errors"]] == ["bv_authtoken"]
    assert bv_calls() == 0


def test_a_token_of_exactly_512_characters_is_accepted(api: Api) -> None:
    assert api.get(LANDING, query={"bv_authtoken": "t" * 512}).status == 200


# --- POST: the exchange ---------------------------------------------------------------------------------------------


def test_the_form_post_confirms_and_stores_both_records(
    api: Api, mint: Callable, aws: AwsBackend, bv_calls: Callable
) -> None:
    minted = mint(email="shopper@example.com")
    reply = confirm_form(api, minted["bv_authtoken"])
    assert reply.status == 200
    page = page_of(reply)
    assert "Your email address is confirmed" in page.text
    assert page.all("form") == [] and page.one("meta", **{"http-equiv": "refresh"}) is None
    assert bv_calls() == 1
    records = table(aws)
    confirm_key = f"bv#confirm#{digest(minted['bv_authtoken'])}"
    user_key = f"bv#user#{minted['bv_user_id']}"
    index_key = f"bv#userconfirm#{minted['bv_user_id']}"  # what an erasure finds the confirmations by
    assert set(records) == {confirm_key, user_key, index_key}
    confirmed, user = records[confirm_key], records[user_key]
    assert records[index_key]["confirmations"] == {digest(minted["bv_authtoken"]): confirmed["expires_at"]}
    assert records[index_key]["expires_at"] == confirmed["expires_at"]
    assert confirmed["kind"] == "bv_confirm" and confirmed["bv_user_id"] == minted["bv_user_id"]
    assert user["bv_user_id"] == minted["bv_user_id"] and user["user_token"] == confirmed["user_token"]
    assert user["confirmed_at"] == confirmed["confirmed_at"] == int(api.clock.now)
    assert user["expires_at"] == confirmed["expires_at"] > api.clock.now
    assert minted["bv_authtoken"] not in reply.text  # the spent token is not echoed back
    assert confirmed["user_token"] not in reply.text  # the user token is for the site backend, not the page


def test_the_json_post_answers_the_user_token(api: Api, mint: Callable) -> None:
    minted = mint(maxage=10)
    reply = confirm_json(api, {"bv_authtoken": minted["bv_authtoken"]})
    assert reply.status == 200 and reply.header("Content-Type") == "application/json"
    body = reply.json()
    assert set(body) == {"status", "bv_user_id", "user_token", "expires_at", "already_confirmed"}
    assert body["status"] == "confirmed" and body["already_confirmed"] is False
    assert body["bv_user_id"] == minted["bv_user_id"]
    assert body["expires_at"].endswith("T00:00:00Z")  # the token's date plus its maxage, at midnight UTC


def test_a_repeat_is_answered_from_the_store_without_calling_bazaarvoice(
    api: Api, mint: Callable, bv_calls: Callable
) -> None:
    token = mint()["bv_authtoken"]
    first = confirm_json(api, {"bv_authtoken": token}).json()
    again = confirm_json(api, {"bv_authtoken": token}).json()
    # The user token is handed out once, by the exchange that spent the link; afterwards only the IAM route has it.
    assert first["user_token"] and "user_token" not in again
    assert again == {**{k: v for k, v in first.items() if k != "user_token"}, "already_confirmed": True}
    page = page_of(confirm_form(api, token))
    assert "Your email address is already confirmed" in page.text
    assert bv_calls() == 1


@pytest.mark.parametrize("shape", ["classic", "problem"])
def test_a_token_we_never_exchanged_is_the_expired_link_page(
    api: Api, mint: Callable, error_shape: Callable, aws: AwsBackend, shape: str
) -> None:
    error_shape(shape)
    token = mint()["bv_authtoken"]
    confirm_form(api, token)
    aws.dynamodb.delete_item(TableName="authhooks-tokens", Key={"pk": {"S": f"bv#confirm#{digest(token)}"}})
    before = aws.items()
    reply = confirm_form(api, token)  # spent at BV, unknown to us: BV says ERROR_BAD_REQUEST
    assert reply.status == 400
    assert "This link has expired or was already used" in page_of(reply).text
    problem = confirm_json(api, {"bv_authtoken": "never-minted"})
    assert problem.status == 400 and problem.json()["code"] == "token_invalid"
    # Nothing but the memory of the two refusals (by digest), so repeats cost no Bazaarvoice call.
    added = [item for item in aws.items() if item not in before]
    remembered = sorted(f"bv#refused#{digest(t)}" for t in (token, "never-minted"))
    assert sorted(item["pk"]["S"] for item in added) == remembered


FAULT_PAGES = [
    (mode, VENDOR_FAULT_ANSWERS[mode].status, VENDOR_FAULT_ANSWERS[mode].code, heading)
    for mode, heading in [
        ("error_500", "We could not confirm your email address just now"),
        ("reset", "We could not confirm your email address just now"),
        ("timeout", "We could not confirm your email address just now"),
        ("garbage", "We could not confirm your email address just now"),
        ("rate_limit", "Too many confirmations at once"),
    ]
]


@pytest.mark.parametrize(("mode", "status", "code", "heading"), FAULT_PAGES)
def test_vendor_faults_are_pages_with_the_right_status_and_a_try_again_button(
    api: Api,
    mint: Callable,
    fault: Callable,
    aws: AwsBackend,
    bv_calls: Callable,
    mode: str,
    status: int,
    code: str,
    heading: str,
) -> None:
    token = mint()["bv_authtoken"]
    fault(mode, count=2)
    reply = confirm_form(api, token, ALLOWED)
    assert reply.status == status
    page = page_of(reply)
    assert heading in page.text
    assert page.one("form", id="retry-form") == {"id": "retry-form", "method": "post", "action": "confirm"}
    assert page.field("bv_authtoken") == token and page.field("return_to") == ALLOWED
    if status == 503:
        assert (reply.header("Retry-After") or "").isdigit()
    problem = confirm_json(api, {"bv_authtoken": token})
    assert problem.status == status and problem.json()["code"] == code
    assert aws.items() == []  # nothing written until Bazaarvoice said yes
    assert bv_calls() == 2
    again = confirm_form(api, page.field("bv_authtoken") or "", page.field("return_to"))  # "Try again"
    assert again.status == 200 and "Your email address is confirmed" in page_of(again).text


def test_a_refused_passkey_is_a_502_page_and_an_error_log(
    api: Api, mint: Callable, passkey: Callable, log_lines: list[str], aws: AwsBackend
) -> None:
    token = mint()["bv_authtoken"]
    passkey("not-the-passkey")
    reply = confirm_form(api, token)
    assert reply.status == 502
    assert "We could not confirm" in page_of(reply).text
    assert any('"level":"ERROR"' in line and "ERROR_PARAM_INVALID_API_KEY" in line for line in log_lines)
    assert aws.items() == []


def test_bad_bodies_are_400_naming_the_fields(api: Api, bv_calls: Callable) -> None:
    both = confirm_json(api, {"bv_authtoken": 42, "return_to": ["https://shop.example.com"]})
    assert both.status == 400
    assert [e["field"] for e in both.json()["errors"]] == ["bv_authtoken", "return_to"]
    xml = api.post(LANDING, body="<a/>", headers={"Content-Type": "application/xml"})
    assert xml.status == 400 and "This link is incomplete" in page_of(xml).text
    empty = confirm_form(api, "")
    assert empty.status == 400 and "This link is incomplete" in page_of(empty).text
    assert bv_calls() == 0


def test_an_opaque_user_token_is_stored_as_a_confirmation_only(api: Api, mint: Callable, aws: AwsBackend) -> None:
    body = confirm_json(api, {"bv_authtoken": mint(opaque=True)["bv_authtoken"]}).json()
    assert body["bv_user_id"] is None
    (only,) = table(aws).values()
    assert only["pk"].startswith("bv#confirm#") and only["bv_user_id"] is None
    assert only["expires_at"] == int(api.clock.now) + 30 * 86400


# --- return_to ------------------------------------------------------------------------------------------------------


def test_an_allowed_return_to_is_a_link_and_never_a_timed_redirect(api: Api, mint: Callable) -> None:
    page = page_of(confirm_form(api, mint()["bv_authtoken"], ALLOWED))
    assert page.one("a", href=ALLOWED) is not None
    assert page.one("meta", **{"http-equiv": "refresh"}) is None  # WCAG 2.2.1: the shopper follows the link


def test_in_button_mode_return_to_is_only_a_link(api: Api, mint: Callable, bv_settings: Callable) -> None:
    bv_settings(BAZAARVOICE_CONFIRM_MODE="button")
    page = page_of(confirm_form(api, mint()["bv_authtoken"], ALLOWED))
    assert page.one("a", href=ALLOWED) is not None
    assert page.one("meta", **{"http-equiv": "refresh"}) is None


def test_return_to_on_the_local_api_origin_is_honoured(api: Api, mint: Callable) -> None:
    url = "http://127.0.0.1:3000/bazaarvoice/done"
    assert (
        page_of(api.get(LANDING, query={"bv_authtoken": mint()["bv_authtoken"], "return_to": url})).field("return_to")
        == url
    )


# --- GET /bazaarvoice/users/{id} ------------------------------------------------------------------------------------


def test_the_site_backend_reads_the_latest_user_token(api: Api, mint: Callable) -> None:
    first = mint(email="again@example.com")
    second = mint(email="again@example.com")
    confirm_json(api, {"bv_authtoken": first["bv_authtoken"]})
    api.clock.advance(60)
    latest = confirm_json(api, {"bv_authtoken": second["bv_authtoken"]}).json()
    reply = api.get(f"/bazaarvoice/users/{first['bv_user_id']}")
    assert reply.status == 200 and reply.header("Content-Type") == "application/json"
    body = reply.json()
    assert set(body) == {"bv_user_id", "user_token", "confirmed_at", "expires_at"}
    assert body["user_token"] == latest["user_token"] and body["expires_at"] == latest["expires_at"]
    assert body["confirmed_at"].endswith("Z")
    assert reply.event["requestContext"]["authorizer"]["iam"]  # an IAM route


# "a%00b" (a NUL once API Gateway decodes the path) no route of ours matches: tests/integration/
# test_unroutable_path_parameters.py holds it to a 400 naming the parameter.
@pytest.mark.parametrize("user_id", ["0c7f0c5e-0000-4000-8000-000000000000", "x" * 3000, "%2e%2e"])
def test_an_unknown_user_is_404(api: Api, user_id: str) -> None:
    reply = api.get(f"/bazaarvoice/users/{user_id}")
    assert reply.status == 404
    assert reply.json()["code"] == "not_found"


def test_a_user_id_with_a_control_character_is_a_400_naming_it(api: Api) -> None:
    # Delivered decoded ("a\x00b"): no id our router matches (see test_unroutable_path_parameters.py).
    reply = api.get("/bazaarvoice/users/a%00b")
    assert reply.status == 400 and [e["field"] for e in reply.json()["errors"]] == ["bv_user_id"]


# --- metrics --------------------------------------------------------------------------------------------------------


def emitted(out: str) -> list[dict[str, Any]]:
    return [doc for doc in (json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"'))]


def test_confirmations_by_outcome_and_the_quota_are_metrics(
    api: Api, mint: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    token = mint()["bv_authtoken"]
    confirm_form(api, token)
    confirm_form(api, token)
    confirm_form(api, "never-minted-token")
    docs = emitted(capsys.readouterr().out)
    outcomes = [d["outcome"] for d in docs if "BazaarvoiceConfirmations" in d]
    assert outcomes == ["confirmed", "already_confirmed", "rejected"]
    allotted = [d["BazaarvoiceQpmAllotted"] for d in docs if "BazaarvoiceQpmAllotted" in d]
    current = [d["BazaarvoiceQpmCurrent"] for d in docs if "BazaarvoiceQpmCurrent" in d]
    assert allotted == [[1000.0], [1000.0]] and len(current) == 2


def test_every_answer_is_plain_data_for_the_lambda_runtime(api: Api, mint: Callable) -> None:
    from local.runtime import LambdaContext

    handler = api.handler("BazaarvoiceConfirmFunction")
    for reply in (
        api.get(LANDING, query={"bv_authtoken": mint()["bv_authtoken"]}),
        api.get(LANDING),
        confirm_form(api, "never-minted-token"),
    ):
        result = handler(reply.event, LambdaContext(function_name="BazaarvoiceConfirmFunction"))
        assert type(result["body"]) is str  # a str subclass would not survive the runtime's serialization
        assert json.loads(json.dumps(result)) == result
