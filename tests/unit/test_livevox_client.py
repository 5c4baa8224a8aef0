"""LiveVox wire format: login answers, refusals mapped to our errors, and the retry budget."""

from __future__ import annotations

import pytest
from authhooks.errors import (
    PasswordExpired,
    Unauthorized,
    VendorRateLimited,
    VendorRejected,
    VendorUnavailable,
)
from authhooks.http import VendorResponse
from authhooks.vendors import livevox
from authhooks.vendors.livevox import LOGIN_RETRIES, LiveVoxLogin, parse_login
from requests.structures import CaseInsensitiveDict


def refusal(status: int, body: object, retry_after: str | None = None) -> object:
    """The error for an answer with this status, body and Retry-After header."""
    headers = CaseInsensitiveDict({"Retry-After": retry_after} if retry_after else {})
    return livevox.refusal(VendorResponse(status, headers, body))


def test_a_login_answer_is_parsed_with_optional_fields() -> None:
    body = {"sessionId": "5eb4ad6c-1", "clientId": 123, "userId": 456, "daysUntilPasswordExpires": 12}
    assert parse_login(body) == LiveVoxLogin("5eb4ad6c-1", 123, 456, 12)
    assert parse_login({"sessionId": "s-2"}) == LiveVoxLogin("s-2", None, None, None)


def test_odd_optional_fields_are_dropped_not_trusted() -> None:
    parsed = parse_login({"sessionId": "s-3", "clientId": "123", "userId": True, "daysUntilPasswordExpires": 1.5})
    assert parsed == LiveVoxLogin("s-3", None, None, None)


@pytest.mark.parametrize("body", [None, [], {}, {"sessionId": ""}, {"sessionId": 42}, {"session_id": "x"}])
def test_a_200_without_a_session_id_is_rejected(body: object) -> None:
    with pytest.raises(VendorRejected):
        parse_login(body)


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (401, "Invalid username or password", Unauthorized),
        (401, "Invalid LV-Access token", Unauthorized),
        (403, "Forbidden", Unauthorized),
        (401, "The user password has expired", PasswordExpired),
        (403, "Password expired", PasswordExpired),
        (400, "Your password is expired, change it", PasswordExpired),
        (400, "expired session", VendorRejected),
        (400, "clientName is required", VendorRejected),
        (404, "Not found", VendorRejected),
        (429, "Too many requests", VendorRateLimited),
        (500, "Internal server error", VendorUnavailable),
        (503, "The user password has expired", VendorUnavailable),
    ],
)
def test_refusals_map_to_the_taxonomy(status: int, message: str, expected: type) -> None:
    error = refusal(status, {"code": status, "message": message})
    assert type(error) is expected
    assert message not in error.detail  # vendor text stays out of our answers


def test_refusals_without_a_json_body_still_map_by_status() -> None:
    assert isinstance(refusal(401, None), Unauthorized)
    assert isinstance(refusal(502, "oops"), VendorUnavailable)


def test_retry_after_is_passed_on_and_defaults_when_absent_or_odd() -> None:
    assert refusal(429, {}, "7").retry_after == 7
    assert refusal(503, {}, "11").retry_after == 11
    assert refusal(429, {}, None).retry_after == VendorRateLimited().retry_after
    # One Retry-After reading for every vendor: a date in the past means "now", never less than a second.
    assert refusal(503, {}, "Wed, 21 Oct 2015 07:28:00 GMT").retry_after == 1
    assert refusal(503, {}, "soon").retry_after == VendorUnavailable().retry_after


def test_retries_are_bounded_and_cover_logins() -> None:
    retry = LOGIN_RETRIES.to_urllib3()
    assert "POST" in retry.allowed_methods
    assert {500, 502, 503, 504} <= set(retry.status_forcelist)
    assert 429 not in retry.status_forcelist
    assert retry.read == 0  # a read timeout is never repeated: it would double the worst case
    # Worst case with the template defaults (2 s connect, 5 s read) stays under the 15 s function timeout.
    attempts = 1 + retry.total
    worst = LOGIN_RETRIES.connect * 2 + (attempts - LOGIN_RETRIES.connect) * 5
    assert worst < 15


@pytest.mark.parametrize(
    ("session_id", "segment"),
    [
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("a/b", "a%2Fb"),
        ("5eb4ad6c-1", "5eb4ad6c-1"),
        ("x?y#z", "x%3Fy%23z"),
    ],
)
def test_session_ids_are_one_path_segment(session_id: str, segment: str) -> None:
    assert livevox.path_segment(session_id) == segment
