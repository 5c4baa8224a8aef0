"""Mail scanners open links before people do: plain GETs never spend the token."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import Api, AwsBackend
from tests.integration.bazaarvoice.conftest import LANDING, confirm_form, page_of


def test_twenty_scanner_gets_make_no_bazaarvoice_call_and_the_token_still_works(
    api: Api, mint: Callable, bv_calls: Callable, aws: AwsBackend
) -> None:
    token = mint()["bv_authtoken"]
    for _ in range(20):  # no User-Agent, no cookies, no Accept: what a link scanner sends
        reply = api.get(LANDING, query={"bv_authtoken": token})
        assert reply.status == 200
        assert reply.event["headers"] == {} and "cookies" not in reply.event
    head = api.request("HEAD", LANDING, query={"bv_authtoken": token})
    assert head.status < 500
    assert bv_calls() == 0
    assert aws.items() == []
    confirmed = confirm_form(api, page_of(reply).field("bv_authtoken") or "")
    assert confirmed.status == 200
    assert "Your email address is confirmed" in page_of(confirmed).text
    assert bv_calls() == 1
