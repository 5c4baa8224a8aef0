"""The store: nothing written on a failed exchange; records live exactly as long as the user token says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from authhooks.store import digest

from tests.conftest import Api, AwsBackend
from tests.integration.bazaarvoice.conftest import confirm_json

DAY = 86400


def token_date(user_token: str) -> datetime:
    """The ``date=`` a decodable user token carries, as midnight UTC."""
    payload = dict(part.split("=", 1) for part in bytes.fromhex(user_token[32:]).decode().split("&"))
    return datetime.strptime(payload["date"], "%Y%m%d").replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("mode", ["error_500", "timeout", "garbage", "rate_limit", "reset"])
def test_a_failed_exchange_writes_nothing(
    api: Api, aws: AwsBackend, mint: Callable, fault: Callable, mode: str
) -> None:
    fault(mode)
    assert confirm_json(api, {"bv_authtoken": mint()["bv_authtoken"]}).status >= 500
    assert aws.items() == []  # not even the in-progress lease is left behind
    assert confirm_json(api, {"bv_authtoken": "never-minted-token"}).status == 400
    # A refusal is remembered (by digest, for BazaarvoiceRefusedTokenMinutes), and that is all.
    assert [item["pk"]["S"] for item in aws.items()] == [f"bv#refused#{digest('never-minted-token')}"]


@pytest.mark.parametrize("maxage", [1, 3, 400])
def test_the_user_record_expires_when_the_token_says(api: Api, mint: Callable, maxage: int) -> None:
    minted = mint(maxage=maxage)
    body = confirm_json(api, {"bv_authtoken": minted["bv_authtoken"]}).json()
    expiry = token_date(body["user_token"]) + timedelta(days=maxage)
    assert body["expires_at"] == iso(expiry)
    user_path = f"/bazaarvoice/users/{minted['bv_user_id']}"
    api.clock.now = expiry.timestamp() - 1
    assert api.get(user_path).json()["expires_at"] == iso(expiry)
    again = confirm_json(api, {"bv_authtoken": minted["bv_authtoken"]})
    assert again.json()["already_confirmed"] is True
    api.clock.now = expiry.timestamp()
    assert api.get(user_path).status == 404
    # The confirmation expired with it: BV is asked again, and says the token is spent.
    assert confirm_json(api, {"bv_authtoken": minted["bv_authtoken"]}).json()["code"] == "token_invalid"


def test_without_maxage_the_token_date_plus_the_ttl_parameter(api: Api, mint: Callable, bv_settings: Callable) -> None:
    bv_settings(BAZAARVOICE_TOKEN_TTL_DAYS="7")
    minted = mint()
    body = confirm_json(api, {"bv_authtoken": minted["bv_authtoken"]}).json()
    expiry = token_date(body["user_token"]) + timedelta(days=7)
    assert body["expires_at"] == iso(expiry)
    api.clock.now = expiry.timestamp() - 1
    assert api.get(f"/bazaarvoice/users/{minted['bv_user_id']}").status == 200
    api.clock.now = expiry.timestamp()
    assert api.get(f"/bazaarvoice/users/{minted['bv_user_id']}").status == 404


def test_an_undecodable_token_lives_the_ttl_from_now(api: Api, mint: Callable) -> None:
    token = mint(opaque=True)["bv_authtoken"]
    body = confirm_json(api, {"bv_authtoken": token}).json()
    confirmed_at = int(api.clock.now)
    assert body["expires_at"] == iso(datetime.fromtimestamp(confirmed_at + 30 * DAY, UTC))
    api.clock.now = confirmed_at + 30 * DAY - 1
    assert confirm_json(api, {"bv_authtoken": token}).json()["already_confirmed"] is True
    api.clock.now = confirmed_at + 30 * DAY
    assert confirm_json(api, {"bv_authtoken": token}).status == 400


def test_keys_carry_no_token(api: Api, aws: AwsBackend, mint: Callable) -> None:
    token = mint()["bv_authtoken"]
    user_token = confirm_json(api, {"bv_authtoken": token}).json()["user_token"]
    keys = [item["pk"]["S"] for item in aws.items()]
    assert len(keys) == 3  # confirmation, user, the user's confirmation index
    assert not any(token in key or user_token in key for key in keys)
