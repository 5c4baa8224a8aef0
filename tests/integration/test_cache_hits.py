"""Each cache-hit path makes exactly one DynamoDB request and no vendor call (counted at the HTTP level)."""

from __future__ import annotations

from typing import Any

from local.sandbox.client import SandboxClient
from tests.conftest import Api, sandbox_calls


def _count_dynamodb_requests(api: Any) -> list[str]:
    from authhooks.store import token_store

    sent: list[str] = []
    token_store().client.meta.events.register(
        "before-send.dynamodb", lambda request, **_: sent.append(request.headers.get("X-Amz-Target", b"").decode())
    )
    return sent


def test_bazaarvoice_user_lookup_is_one_get_item(api: Api, sandbox_url: str) -> None:
    minted = SandboxClient(sandbox_url).mint_bazaarvoice_token(email="hit@example.com")
    confirmed = api.post(
        "/bazaarvoice/confirm", json={"bv_authtoken": minted["bv_authtoken"]}, headers={"Accept": "application/json"}
    )
    assert confirmed.status == 200, confirmed.text
    sent = _count_dynamodb_requests(api)
    found = api.get(f"/bazaarvoice/users/{confirmed.json()['bv_user_id']}")
    assert found.status == 200
    assert sent == ["DynamoDB_20120810.GetItem"]


def test_loudvoice_reuse_is_one_get_item_and_no_vendor_call(api: Api, sandbox_url: str) -> None:
    body = {"author": {"author_reference": "HIT-1", "name": "Hit Author", "email": "hit@example.com"}}
    assert api.put("/loudvoice/sessions", json=body).status == 201
    calls_before = sandbox_calls(sandbox_url)
    sent = _count_dynamodb_requests(api)
    reused = api.put("/loudvoice/sessions", json=body)
    assert reused.status == 200 and reused.json()["cached"] is True
    assert sent == ["DynamoDB_20120810.GetItem"]
    assert sandbox_calls(sandbox_url) == calls_before


def test_livevox_reuse_is_one_get_item_and_no_vendor_call(api: Api, sandbox_url: str) -> None:
    assert api.post("/livevox/sessions", json={"account": "demo"}).status == 200
    calls_before = sandbox_calls(sandbox_url)
    sent = _count_dynamodb_requests(api)
    reused = api.post("/livevox/sessions", json={"account": "demo"})
    assert reused.status == 200 and reused.json()["cached"] is True
    assert sent == ["DynamoDB_20120810.GetItem"]  # a hit is a read: validity runs from LiveVox's confirmation
    assert sandbox_calls(sandbox_url) == calls_before
