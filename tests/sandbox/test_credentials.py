"""Seeded credentials (secret canaries): the sandbox accepts exactly those, and the demo values no longer."""

from collections.abc import Iterator

import pytest

from local.sandbox.server import Credentials, SandboxServer
from tests.sandbox.vendor_calls import (
    BV_PASSKEY,
    LV_AUTH,
    LVX_PASSWORD,
    bv_exchange,
    lv_start,
    lvx_login,
    mint_bv_token,
)

SEEDED = Credentials(
    bazaarvoice_passkey="canary-passkey-1",
    loudvoice_public_key="canary-public-2",
    loudvoice_private_key="canary-private-3",
    livevox_access_token="canary-access-4",
    livevox_password="canary-password-5",
)


@pytest.fixture
def seeded_url() -> Iterator[str]:
    server = SandboxServer(host="127.0.0.1", port=0, credentials=SEEDED).start()
    try:
        yield server.url
    finally:
        server.stop()


def test_the_default_is_the_demo_credentials() -> None:
    assert (Credentials().bazaarvoice_passkey, Credentials().livevox_password) == (BV_PASSKEY, LVX_PASSWORD)
    assert (Credentials().loudvoice_public_key, Credentials().loudvoice_private_key) == LV_AUTH


def test_bazaarvoice_accepts_the_seeded_passkey_only(seeded_url: str) -> None:
    refused = bv_exchange(seeded_url, mint_bv_token(seeded_url)["bv_authtoken"])
    assert refused.json()["Errors"][0]["Code"] == "ERROR_PARAM_INVALID_API_KEY"
    accepted = bv_exchange(seeded_url, mint_bv_token(seeded_url)["bv_authtoken"], passkey=SEEDED.bazaarvoice_passkey)
    assert accepted.json()["HasErrors"] is False


def test_loudvoice_accepts_the_seeded_key_pair_only(seeded_url: str) -> None:
    author = {"author_reference": "R-1", "name": "Seeded"}
    assert lv_start(seeded_url, author).status_code == 401
    seeded = (SEEDED.loudvoice_public_key, SEEDED.loudvoice_private_key)
    assert lv_start(seeded_url, author, auth=seeded).status_code == 201


def test_livevox_accepts_the_seeded_token_and_password_only(seeded_url: str) -> None:
    access = {"LV-Access": SEEDED.livevox_access_token}
    assert lvx_login(seeded_url).status_code == 401
    assert lvx_login(seeded_url, headers=access).status_code == 401  # the demo password
    assert lvx_login(seeded_url, password=SEEDED.livevox_password, headers=access).status_code == 200
