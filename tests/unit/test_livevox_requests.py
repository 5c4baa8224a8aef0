"""LiveVox request bodies: direct credentials, named accounts and SSO, every bad field named."""

from __future__ import annotations

from typing import Any

import pytest
from authhooks import store
from authhooks.api import iso_utc
from authhooks.errors import InvalidRequest
from livevox_login import login

DIRECT = {"client_name": "SANDBOX", "user_name": "alice", "password": "pw-123456"}


def fields(body: dict[str, Any], parse: Any) -> dict[str, str]:
    with pytest.raises(InvalidRequest) as caught:
        parse(body)
    return {e.field: e.message for e in caught.value.errors}


def test_direct_credentials_with_agent_defaulting_to_false() -> None:
    assert login.login_request(DIRECT) == login.LoginRequest(login.Credentials("SANDBOX", "alice", "pw-123456", False))
    assert login.login_request({**DIRECT, "agent": True}).who == login.Credentials(
        "SANDBOX", "alice", "pw-123456", True
    )


def test_a_named_account() -> None:
    assert login.login_request({"account": "demo"}) == login.LoginRequest(login.Account("demo"))


def test_fresh_is_a_flag_of_both_forms() -> None:
    assert login.login_request({**DIRECT, "fresh": True}).fresh is True
    assert login.login_request({"account": "demo", "fresh": True}) == login.LoginRequest(login.Account("demo"), True)
    assert set(fields({"account": "demo", "fresh": "yes"}, login.login_request)) == {"fresh"}
    assert login.sso_request({"client_name": "SANDBOX", "id_token": "t", "fresh": True}).id_token == "t"


def test_agent_names_fold_ascii_letters_only() -> None:
    assert login.fold_agent_name("AGENT7") == "agent7"
    kelvin = "\u212aelvin"  # KELVIN SIGN: str.lower() would make it "kelvin"
    assert login.fold_agent_name(kelvin) == kelvin and login.fold_agent_name("Kelvin") == "kelvin"
    assert login.fold_agent_name("\u2126hm") == "\u2126hm"  # OHM SIGN stays


def test_missing_credentials_name_every_field() -> None:
    assert fields({}, login.login_request) == {
        "client_name": "required",
        "user_name": "required",
        "password": "required",
    }


def test_account_and_credentials_together_are_refused() -> None:
    problems = fields({"account": "demo", "password": "x"}, login.login_request)
    assert set(problems) == {"account"}
    assert "not both" in problems["account"]


def test_unknown_fields_are_named() -> None:
    assert fields({**DIRECT, "pasword": "x", "isAgent": True}, login.login_request) == {
        "pasword": "unknown field",
        "isAgent": "unknown field",
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"client_name": ""}, "client_name"),
        ({"user_name": 7}, "user_name"),
        ({"password": None}, "password"),
        ({"password": "p" * 256}, "password"),
        ({"agent": "yes"}, "agent"),
        ({"agent": 0}, "agent"),
    ],
)
def test_bad_values_are_named_without_echoing_them(change: dict[str, Any], field: str) -> None:
    problems = fields({**DIRECT, **change}, login.login_request)
    assert set(problems) == {field}
    for value in change.values():
        if isinstance(value, str) and value:
            assert value not in problems[field]


def test_account_must_be_a_non_empty_string() -> None:
    assert set(fields({"account": ""}, login.login_request)) == {"account"}
    assert set(fields({"account": ["demo"]}, login.login_request)) == {"account"}


def test_sso_body() -> None:
    assert login.sso_request({"client_name": "SANDBOX", "id_token": "t" * 8192}) == login.SsoCredentials(
        "SANDBOX", "t" * 8192, False
    )
    assert fields({"client_name": "SANDBOX", "id_token": "t" * 8193, "password": "x"}, login.sso_request) == {
        "id_token": "must be at most 8192 characters",
        "password": "unknown field",
    }
    assert set(fields({}, login.sso_request)) == {"client_name", "id_token"}


def test_caller_secrets_are_the_password_and_the_id_token() -> None:
    # Declared once, by the parsers: the fields whose values never reach a log line.
    declared = {
        name for schema in (login.DIRECT, login.NAMED, login.SSO) for name, kind in schema.fields.items() if kind.secret
    }
    assert declared == {"password", "id_token"}


def test_times_are_iso_8601_utc() -> None:
    assert iso_utc(0) == "1970-01-01T00:00:00Z"
    assert iso_utc(1795447875) == "2026-11-23T15:31:15Z"


def test_waiters_back_off_exponentially_with_jitter_up_to_a_second() -> None:
    for attempt in range(12):
        ceiling = min(1.0, 0.05 * 2**attempt)
        delays = {store._backoff(attempt) for _ in range(20)}  # the lease wait lives on the store
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1
