"""The Bazaarvoice client against the sandbox over loopback: success, both error shapes, every fault, no blind retry."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from authhooks.errors import (
    ServiceError,
    TokenInvalid,
    VendorRateLimited,
    VendorRejected,
    VendorTimeout,
    VendorUnavailable,
)
from authhooks.vendors import bazaarvoice

from local.sandbox.bazaarvoice import ERROR_SHAPES
from tests.conftest import Api

SHAPES = list(ERROR_SHAPES)
# Shapes whose body says what went wrong; a body that is not JSON is read by its status alone.
READABLE = [shape for shape in SHAPES if shape != "text"]


def today() -> str:
    return datetime.now(UTC).strftime("%Y%m%d")


@pytest.mark.parametrize("params_in", ["query", "form"])
def test_exchange_decodes_the_user_token(
    api: Api, mint: Callable, bv_settings: Callable, bv_calls: Callable, params_in: str
) -> None:
    bv_settings(BAZAARVOICE_PARAMS_IN=params_in)
    minted = mint(email="shopper@example.com", maxage=45)
    user = bazaarvoice.authenticate_user(minted["bv_authtoken"])
    assert user.claims.bv_user_id == minted["bv_user_id"]
    assert user.claims.issued_on is not None and user.claims.issued_on.strftime("%Y%m%d") == today()
    assert user.claims.maxage_days == 45
    assert bytes.fromhex(user.user_token[32:]).decode().startswith(f"userid={minted['bv_user_id']}&")
    assert bv_calls() == 1


def test_opaque_user_token_is_kept_without_claims(api: Api, mint: Callable) -> None:
    user = bazaarvoice.authenticate_user(mint(opaque=True)["bv_authtoken"])
    assert len(user.user_token) == 64
    assert user.claims == bazaarvoice.UserTokenClaims()


@pytest.mark.parametrize("shape", READABLE)
def test_a_spent_or_unknown_token_is_token_invalid(api: Api, mint: Callable, error_shape: Callable, shape: str) -> None:
    error_shape(shape)
    token = mint()["bv_authtoken"]
    bazaarvoice.authenticate_user(token)
    with pytest.raises(TokenInvalid):
        bazaarvoice.authenticate_user(token)
    with pytest.raises(TokenInvalid):
        bazaarvoice.authenticate_user("never-minted-token")


@pytest.mark.parametrize("shape", SHAPES)
def test_a_wrong_passkey_is_vendor_rejected_with_an_error_log(
    api: Api, mint: Callable, error_shape: Callable, passkey: Callable, log_lines: list[str], shape: str
) -> None:
    error_shape(shape)
    token = mint()["bv_authtoken"]
    passkey("rotated-but-wrong-passkey")
    with pytest.raises(VendorRejected):
        bazaarvoice.authenticate_user(token)
    errors = [json.loads(line) for line in log_lines if '"level":"ERROR"' in line]
    assert [e["vendor_code"] for e in errors] == ["ERROR_PARAM_INVALID_API_KEY" if shape != "text" else "http_401"]
    assert errors[0]["message"] == "bazaarvoice refused this service's credentials or configuration"
    assert not any("rotated-but-wrong-passkey" in line for line in log_lines)
    passkey("sandbox-bv-passkey")
    assert bazaarvoice.authenticate_user(token).user_token  # the refused call did not spend the token


# Without a message ("no_message") a generic ERROR_BAD_REQUEST names nothing: it reads as the link's fault.
@pytest.mark.parametrize("shape", [shape for shape in SHAPES if shape != "no_message"])
def test_missing_api_version_is_vendor_rejected(
    api: Api, mint: Callable, error_shape: Callable, bv_settings: Callable, log_lines: list[str], shape: str
) -> None:
    # BV's generic ERROR_BAD_REQUEST naming "apiversion": our configuration, not the shopper's link.
    error_shape(shape)
    bv_settings(BAZAARVOICE_API_VERSION="")
    token = mint()["bv_authtoken"]
    with pytest.raises(VendorRejected):
        bazaarvoice.authenticate_user(token)
    assert any('"level":"ERROR"' in line for line in log_lines)
    bv_settings(BAZAARVOICE_API_VERSION="5.4")
    assert bazaarvoice.authenticate_user(token).user_token  # the link was never the problem


@pytest.mark.parametrize("shape", READABLE)
def test_configuration_refusals_are_a_metric_for_the_operator(
    api: Api, mint: Callable, error_shape: Callable, passkey: Callable, shape: str, capsys: pytest.CaptureFixture[str]
) -> None:
    error_shape(shape)
    passkey("rotated-but-wrong-passkey")
    with pytest.raises(VendorRejected):
        bazaarvoice.authenticate_user(mint()["bv_authtoken"])
    out = capsys.readouterr().out
    docs = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    assert [d["vendor"] for d in docs if "VendorConfigurationErrors" in d] == ["bazaarvoice"]


FAULTS = [
    ("timeout", VendorTimeout),
    ("reset", VendorUnavailable),
    ("error_500", VendorUnavailable),
    ("garbage", VendorRejected),
    ("rate_limit", VendorRateLimited),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("mode", "expected"), FAULTS)
def test_every_fault_maps_and_is_never_retried(
    api: Api,
    mint: Callable,
    fault: Callable,
    error_shape: Callable,
    bv_calls: Callable,
    mode: str,
    expected: type[ServiceError],
    shape: str,
) -> None:
    error_shape(shape)
    token = mint()["bv_authtoken"]
    fault(mode, count=5)  # were the client to retry, the retries would fail too and show in the counter
    with pytest.raises(expected) as raised:
        bazaarvoice.authenticate_user(token)
    assert bv_calls() == 1
    if mode == "rate_limit":
        assert raised.value.retry_after == 2  # the sandbox's Retry-After, handed on to our caller
    if expected.status == 503:
        assert raised.value.response_headers()["Retry-After"]


def test_the_token_still_works_after_a_fault(api: Api, mint: Callable, fault: Callable, bv_calls: Callable) -> None:
    token = mint()["bv_authtoken"]
    fault("error_500")
    with pytest.raises(VendorUnavailable):
        bazaarvoice.authenticate_user(token)
    assert bazaarvoice.authenticate_user(token).user_token
    assert bv_calls() == 2


def test_connection_refused_is_vendor_unavailable(api: Api, bv_settings: Callable) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bv_settings(BAZAARVOICE_API_URL=f"http://127.0.0.1:{port}/bazaarvoice")
    with pytest.raises(VendorUnavailable):
        bazaarvoice.authenticate_user("any-token-at-all")
