"""Keys: the one place that knows the key format, and never lets a raw token into a key."""

from __future__ import annotations

import hashlib

from authhooks.store import Keys, digest


def test_digest_is_sha256_hex() -> None:
    assert digest("abc") == hashlib.sha256(b"abc").hexdigest()


def test_keys_never_hold_the_raw_secret() -> None:
    secret = "tok-3f2a9c-very-secret"
    for key in (
        Keys.bv_confirm(secret),
        Keys.lv_session(secret),
        Keys.lv_author(secret),
        Keys.lvx_session("host", secret, "c", "u", "user"),
        Keys.lvx_lock("host", secret),
        Keys.lvx_session_id(secret),
    ):
        assert secret not in key
        assert len(key.rsplit("#", 1)[1]) == 64


def test_key_kinds_have_the_documented_prefixes() -> None:
    assert Keys.bv_confirm("t").startswith("bv#confirm#")
    assert Keys.bv_user("u-1") == "bv#user#u-1"
    assert Keys.lv_session("t").startswith("lv#session#")
    assert Keys.lv_author("a").startswith("lv#author#")
    assert Keys.lvx_session("a", "b").startswith("lvx#session#")
    assert Keys.lvx_lock("a", "b").startswith("lvx#lock#")


def test_session_and_lock_keys_of_one_identity_differ_but_are_stable() -> None:
    identity = ("https://api.livevox.com", "fp", "SANDBOX", "demo-user", "user")
    assert Keys.lvx_session(*identity) == Keys.lvx_session(*identity)
    assert Keys.lvx_session(*identity).split("#")[2] == Keys.lvx_lock(*identity).split("#")[2]
    assert Keys.lvx_session(*identity) != Keys.lvx_session(*identity[:3], "Demo-User", "user")
