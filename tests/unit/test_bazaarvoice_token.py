"""User-token decoding, expiry maths and the mapping of Bazaarvoice answers onto the error taxonomy (no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from authhooks.errors import TokenInvalid, VendorRateLimited, VendorRejected, VendorUnavailable
from authhooks.http import VendorResponse
from authhooks.vendors.bazaarvoice import Refusal, UserTokenClaims, decode_user_token, read_answer
from hypothesis import given
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict

SIGNATURE = "4d5a94aed5f2c2bb0123456789abcdef"
USER_ID = "0c7f0c5e-2b1a-4c3d-9e8f-123456789abc"


def token(payload: str, signature: str = SIGNATURE) -> str:
    return signature + payload.encode().hex()


def test_the_documented_shape() -> None:
    claims = decode_user_token(token(f"userid={USER_ID}&hosted=VERIFIED&date=20261123"))
    assert claims == UserTokenClaims(bv_user_id=USER_ID, issued_on=date(2026, 11, 23), maxage_days=None)


def test_maxage_and_upper_case_hex() -> None:
    claims = decode_user_token(token(f"userid={USER_ID}&hosted=VERIFIED&date=20261123&maxage=30").upper())
    assert claims.maxage_days == 30 and claims.issued_on == date(2026, 11, 23)


@pytest.mark.parametrize(
    "user_token",
    [
        "",
        "opaque",
        "f" * 64,  # hex, but the payload is not text
        SIGNATURE,  # a signature and nothing else
        SIGNATURE + "7",  # an odd number of hex digits
        token("hosted=VERIFIED&date=20261123"),  # no user id
        token("userid=&date=20261123"),  # an empty user id
        token("userid=../../etc&date=20261123"),  # an id that could never be a key or a path segment
        token(f"userid={'u' * 200}"),  # longer than any id
        token("userid=a&" + "&".join(f"k{i}=v" for i in range(20))),  # more fields than the shape has
        "zz" + token(f"userid={USER_ID}")[2:],  # a signature that is not hex
    ],
)
def test_anything_else_is_no_claims(user_token: str) -> None:
    assert decode_user_token(user_token) == UserTokenClaims()


@pytest.mark.parametrize(
    ("payload", "issued_on", "maxage"),
    [
        ("date=20261399", None, None),
        ("date=2026-11-23", None, None),
        ("date=20261123&maxage=0", date(2026, 11, 23), None),
        ("date=20261123&maxage=-5", date(2026, 11, 23), None),
        ("date=20261123&maxage=9999999", date(2026, 11, 23), None),
        ("date=20261123&maxage=ten", date(2026, 11, 23), None),
    ],
)
def test_a_bad_date_or_maxage_is_left_out_and_the_id_kept(
    payload: str, issued_on: date | None, maxage: int | None
) -> None:
    claims = decode_user_token(token(f"userid={USER_ID}&{payload}"))
    assert claims == UserTokenClaims(USER_ID, issued_on, maxage)


@given(st.text(max_size=300))
def test_decoding_never_fails_on_any_text(text: str) -> None:
    assert isinstance(decode_user_token(text), UserTokenClaims)


@given(st.binary(max_size=200))
def test_decoding_never_fails_on_any_payload(payload: bytes) -> None:
    assert isinstance(decode_user_token(SIGNATURE + payload.hex()), UserTokenClaims)


NOW = int(datetime(2026, 11, 23, 15, 4, 5, tzinfo=UTC).timestamp())
MIDNIGHT = int(datetime(2026, 11, 23, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        (UserTokenClaims(USER_ID, date(2026, 11, 23), 10), MIDNIGHT + 10 * 86400),
        (UserTokenClaims(USER_ID, date(2026, 11, 23), None), MIDNIGHT + 30 * 86400),
        (UserTokenClaims(USER_ID, None, 10), NOW + 30 * 86400),  # maxage counts from the date; without one, the TTL
        (UserTokenClaims(), NOW + 30 * 86400),
    ],
)
def test_expiry(claims: UserTokenClaims, expected: int) -> None:
    assert claims.expires_at(NOW, ttl_days=30) == expected


def answer(status: int, body: object, **headers: str) -> VendorResponse:
    return VendorResponse(status, CaseInsensitiveDict(headers), body)


def classic(code: str) -> dict[str, object]:
    return {"HasErrors": True, "Errors": [{"Code": code, "Message": "m"}], "Authentication": None}


def problem(code: str) -> dict[str, object]:
    return {"code": code, "message": "m", "status": 400}


def test_a_success_is_the_user_token() -> None:
    body = {"HasErrors": False, "Errors": [], "Authentication": {"User": "abc"}}
    assert read_answer(answer(200, body)) == "abc"


@pytest.mark.parametrize("shape", [classic, problem])
@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ERROR_BAD_REQUEST", 400, TokenInvalid),
        ("ERROR_REQUEST_LIMIT_REACHED", 429, VendorRateLimited),
        ("ERROR_PARAM_INVALID_API_KEY", 401, VendorRejected),
        ("ERROR_ACCESS_DENIED", 403, VendorRejected),
        ("ERROR_PARAM_INVALID_PARAMETERS", 400, VendorRejected),
        ("ERROR_UNSUPPORTED", 400, VendorRejected),
        ("ERROR_UNKNOWN", 400, VendorRejected),
        ("ERROR_SOMETHING_NEW", 400, VendorRejected),
        ("ERROR_UNKNOWN", 500, VendorUnavailable),
        ("ERROR_BAD_REQUEST", 503, VendorUnavailable),
    ],
)
def test_both_error_shapes_map_onto_the_taxonomy(
    shape: Callable[[str], dict[str, object]], code: str, status: int, expected: type
) -> None:
    for http_status in {status, 200} if status < 500 and shape is classic else {status}:
        refusal = read_answer(answer(http_status, shape(code)))
        assert isinstance(refusal, Refusal) and isinstance(refusal.exception, expected)
        assert refusal.code_seen == code


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (answer(200, None), VendorRejected),
        (answer(200, []), VendorRejected),
        (answer(200, {"HasErrors": False, "Authentication": None}), VendorRejected),
        (answer(200, {"HasErrors": False, "Authentication": {"User": ""}}), VendorRejected),
        (answer(200, {"HasErrors": True, "Errors": []}), VendorRejected),
        (answer(404, {"error": "not_found"}), VendorRejected),
        (answer(429, None, **{"Retry-After": "17"}), VendorRateLimited),
        (answer(502, None), VendorUnavailable),
    ],
)
def test_answers_we_cannot_use(response: VendorResponse, expected: type) -> None:
    refusal = read_answer(response)
    assert isinstance(refusal, Refusal) and isinstance(refusal.exception, expected)


@pytest.mark.parametrize(("retry_after", "expected"), [("17", 17), ("99999", 3600), ("soon", 30), (None, 30)])
def test_retry_after_is_handed_on(retry_after: str | None, expected: int) -> None:
    headers = {"Retry-After": retry_after} if retry_after else {}
    refusal = read_answer(answer(200, classic("ERROR_REQUEST_LIMIT_REACHED"), **headers))
    assert isinstance(refusal, Refusal) and refusal.exception.retry_after == expected


# --- what Bazaarvoice really writes (VENDORS.md, "Evidence gathered later") -----------------------------------------

SHA256_SIGNATURE = "9f" * 32


@pytest.mark.parametrize(
    "payload",
    [
        f"maxage=30&HOSTED=VERIFIED&date=20261123&emailaddress=a%40example.com&userid={USER_ID}",  # BV's own builder
        f"USERID={USER_ID}&Hosted=VERIFIED&Date=20261123&MaxAge=30",
    ],
)
def test_a_64_hex_signature_and_keys_in_any_case(payload: str) -> None:
    claims = decode_user_token(token(payload, SHA256_SIGNATURE))
    assert claims == UserTokenClaims(USER_ID, date(2026, 11, 23), 30)


def test_a_32_hex_signature_with_the_user_id_last() -> None:
    claims = decode_user_token(token(f"maxage=7&hosted=VERIFIED&date=20261123&userid={USER_ID}"))
    assert claims == UserTokenClaims(USER_ID, date(2026, 11, 23), 7)


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        (UserTokenClaims(USER_ID, date(2020, 1, 1), 30), "already past"),
        (UserTokenClaims(USER_ID, date(2026, 11, 23), 36500), "a century ahead"),
        (UserTokenClaims(USER_ID, date(9999, 12, 1), 365), "past the calendar"),
    ],
)
def test_an_implausible_derived_expiry_falls_back_to_the_ttl_and_is_logged(
    claims: UserTokenClaims, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert claims.expires_at(NOW, ttl_days=30) == NOW + 30 * 86400, why
    assert any("expiry we do not believe" in record.getMessage() for record in caplog.records)


def problem_documented(code: str, status: int = 400) -> dict[str, object]:
    return {
        "type": "about:blank",
        "title": "t",
        "status": status,
        "detail": "d",
        "instance": "/data/x",
        "code": code,
        "occurredAt": "2026-11-23T15:04:05.000Z",
    }


def problem_example(code: str) -> dict[str, object]:
    return {"ERROR_CODE": code, "message": "m", "staus": 400}


def lower_case(code: str) -> dict[str, object]:
    return {"hasErrors": True, "errors": [{"code": code, "message": "m"}]}


def display(code: str) -> dict[str, object]:
    return {
        "Includes": {},
        "HasErrors": True,
        "Offset": 0,
        "TotalResults": 0,
        "Locale": "en_US",
        "Errors": [{"Code": code, "Message": "m"}],
        "Limit": 0,
        "Results": [],
    }


def no_message(code: str) -> dict[str, object]:
    return {"HasErrors": True, "Errors": [{"Code": code, "Message": None}]}


@pytest.mark.parametrize("shape", [problem_documented, problem_example, lower_case, display, no_message])
@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ERROR_BAD_REQUEST", 400, TokenInvalid),
        ("ERROR_REQUEST_LIMIT_REACHED", 429, VendorRateLimited),
        ("ERROR_PARAM_INVALID_API_KEY", 401, VendorRejected),
        ("ERROR_ACCESS_DENIED", 403, VendorRejected),
        ("ERROR_UNKNOWN", 500, VendorUnavailable),
    ],
)
def test_every_shape_bazaarvoice_writes(
    shape: Callable[[str], dict[str, object]], code: str, status: int, expected: type
) -> None:
    refusal = read_answer(answer(status, shape(code)))
    assert isinstance(refusal, Refusal) and isinstance(refusal.exception, expected)
    assert refusal.code_seen == code


@pytest.mark.parametrize(
    "message",
    [
        "Missing required parameter - apiversion.",
        "Invalid parameter: PassKey",
        "The ApiVersion parameter is required.",
        "Missing required parameter - locale",
    ],
)
@pytest.mark.parametrize("shape", [classic, problem_documented, lower_case])
def test_a_bad_request_naming_another_parameter_is_our_configuration(
    shape: Callable[[str], dict[str, object]], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    body = shape("ERROR_BAD_REQUEST")
    if "Errors" in body:
        body["Errors"] = [{"Code": "ERROR_BAD_REQUEST", "Message": message}]
    elif "errors" in body:
        body["errors"] = [{"code": "ERROR_BAD_REQUEST", "message": message}]
    else:
        body["detail"] = message
    refusal = read_answer(answer(400, body))
    assert isinstance(refusal, Refusal) and isinstance(refusal.exception, VendorRejected)
    assert "VendorConfigurationErrors" in capsys.readouterr().out


@pytest.mark.parametrize(
    "message",
    [
        "The auth token is invalid or the user is already authenticated.",
        "Missing required parameter - authtoken.",
        "",
        None,
    ],
)
def test_a_bad_request_about_the_token_or_nothing_is_the_link(message: str | None) -> None:
    body = {"HasErrors": True, "Errors": [{"Code": "ERROR_BAD_REQUEST", "Message": message}]}
    refusal = read_answer(answer(400, body))
    assert isinstance(refusal, Refusal) and isinstance(refusal.exception, TokenInvalid)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, VendorRejected),
        (401, VendorRejected),
        (403, VendorRejected),
        (404, VendorRejected),
        (429, VendorRateLimited),
        (500, VendorUnavailable),
        (503, VendorUnavailable),
    ],
)
def test_a_body_that_is_not_json_is_read_by_its_status(status: int, expected: type) -> None:
    response = VendorResponse(status, CaseInsensitiveDict({"Content-Type": "text/html"}), None, json_ok=False)
    refusal = read_answer(response)
    assert isinstance(refusal, Refusal) and isinstance(refusal.exception, expected)
    assert refusal.code_seen == f"http_{status}"


def test_a_lower_case_success_is_the_user_token() -> None:
    assert read_answer(answer(200, {"hasErrors": False, "errors": [], "authentication": {"user": "abc"}})) == "abc"
