"""LoudVoice wire format: the session envelope, RFC 2822 dates, Retry-After, refusals, and the retry budget."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from authhooks.errors import (
    InvalidRequest,
    NotFound,
    VendorRateLimited,
    VendorRejected,
    VendorUnavailable,
)
from authhooks.http import VendorResponse, parse_retry_after
from authhooks.telemetry import redactor
from authhooks.vendors.loudvoice import (
    VENDOR_BUDGET_SECONDS,
    parse_date,
    parse_session,
    retry_policy,
    vendor_error,
    worst_case_seconds,
)
from requests.structures import CaseInsensitiveDict

from local import template

AUTHOR = {
    "author_token": "875b8930-2f5c-4f4b-9d4c-3f1f6a1a2b3c", "author_reference": "122311", "name": "John Doe",
    "email": "john@example.com", "description": None, "picture_url": None, "website_url": None,
    "num_comments": 0, "date_last_comment": None, "date_creation": "Mon, 26 Mar 2018 17:33:12 +0200",
    "date_last_update": None,
}  # fmt: skip


def envelope(status: int = 200, **session: Any) -> dict[str, Any]:
    data = {
        "author_session_token": "27641d04-7b4c-4d4e-9f1e-1c2d3e4f5a6b",
        "date_creation": "Mon, 26 Mar 2018 17:33:12 +0200",
        "date_last_update": None,
        "date_expiration": "Mon, 09 Apr 2018 17:33:12 +0200",
        "expires_in": 1209600,
        "author": AUTHOR,
        **session,
    }
    return {
        "response": {
            "request": {
                "date": "Mon, 26 Mar 2018 17:35:43 +0200",
                "resource": "/loudvoice/authors/sessions.json",
                "status": {"flag": "success", "code": status, "info": "ok"},
            },
            "result": {"data": {"author_session": data}},
        }
    }


def refusal(status: int, info: str, headers: dict[str, str] | None = None) -> VendorResponse:
    body = {
        "response": {
            "request": {
                "date": "Mon, 26 Mar 2018 17:35:43 +0200",
                "resource": "/loudvoice/authors/sessions.json",
                "status": {"flag": "error", "code": status, "info": info},
            }
        }
    }
    return VendorResponse(status, CaseInsensitiveDict(headers or {}), body)


def test_a_201_session_is_parsed_with_aware_dates() -> None:
    session = parse_session(envelope(201), status=201, expires_in=60)
    assert session.token == "27641d04-7b4c-4d4e-9f1e-1c2d3e4f5a6b"
    assert session.author_created is True
    assert session.expires_in == 1209600, "the vendor's value wins over what we asked"
    assert session.date_expiration == datetime(2018, 4, 9, 15, 33, 12, tzinfo=UTC)
    assert session.date_expiration.utcoffset() == timedelta(hours=2)
    assert session.date_last_update is None
    assert session.author.author_reference == "122311"
    assert session.author.description is None
    assert session.author.num_comments == 0
    assert session.author.date_creation == datetime(2018, 3, 26, 15, 33, 12, tzinfo=UTC)


def test_a_200_session_means_an_existing_author() -> None:
    assert parse_session(envelope(200), status=200, expires_in=60).author_created is False


def test_without_date_expiration_the_lifetime_counts_from_creation() -> None:
    session = parse_session(envelope(date_expiration=None, expires_in=None), status=200, expires_in=3600)
    assert session.expires_in == 3600
    assert session.date_expiration == datetime(2018, 3, 26, 16, 33, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "broken",
    [
        None,
        [],
        {"response": {}},
        {"response": {"result": {"data": {"author_session": "x"}}}},
        envelope(author_session_token=None),
        envelope(author_session_token=""),
        envelope(author=None),
        envelope(author={**AUTHOR, "author_token": None}),
    ],
)
def test_an_answer_without_a_usable_session_is_refused(broken: Any) -> None:
    with pytest.raises(ValueError):
        parse_session(broken, status=200, expires_in=60)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon, 26 Mar 2018 17:33:12 +0200", datetime(2018, 3, 26, 15, 33, 12, tzinfo=UTC)),
        ("Mon, 26 Mar 2018 15:33:12 +0000", datetime(2018, 3, 26, 15, 33, 12, tzinfo=UTC)),
        ("Mon, 26 Mar 2018 15:33:12 -0000", datetime(2018, 3, 26, 15, 33, 12, tzinfo=UTC)),
        ("Mon, 26 Mar 2018 15:33:12 GMT", datetime(2018, 3, 26, 15, 33, 12, tzinfo=UTC)),
        ("26 Mar 2018 10:33:12 -0500", datetime(2018, 3, 26, 15, 33, 12, tzinfo=UTC)),
    ],
)
def test_rfc_2822_dates_become_aware_datetimes(text: str, expected: datetime) -> None:
    parsed = parse_date(text)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize("junk", [None, "", "  ", "yesterday", 1522078392, "2018-03-26T15:33:12Z"])
def test_unreadable_dates_are_none(junk: Any) -> None:
    assert parse_date(junk) is None


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30
    assert parse_retry_after("0", now) == 1, "never tell a caller to retry at once"
    assert parse_retry_after("999999", now) == 3600
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 1
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("soon", now) is None


@pytest.mark.parametrize(
    ("info", "field"),
    [
        # OneAll names the refused node (VENDORS.md, "Evidence gathered later").
        (
            "The node [request->author_session->author->email] is invalid, it must contain a valid email address",
            "author.email",
        ),
        (
            "The node [request->author_session->author->name] is invalid, the name is required to create a new author",
            "author.name",
        ),
        ("The node [request->author_session->author->picture_url] is invalid", "author.picture_url"),
        ("The node [request->author_session->session->expires_in] is invalid, it must be an integer", "expires_in"),
        ("The node [request->author_session] is invalid", "author"),
        ("Something else went wrong", "author"),
    ],
)
def test_400_is_invalid_request_with_the_vendors_text(info: str, field: str) -> None:
    error = vendor_error("session_start", refusal(400, info))
    assert isinstance(error, InvalidRequest)
    assert info in error.detail
    assert [(e.field, e.message) for e in error.errors] == [(field, info)]


def test_409_is_invalid_request_too() -> None:
    assert isinstance(vendor_error("session_start", refusal(409, "conflict")), InvalidRequest)


def test_vendor_text_is_scrubbed_of_known_secrets_and_bounded() -> None:
    redactor.add_deployment_secrets(["canary-lv-private-key"])
    error = vendor_error("session_start", refusal(400, "bad key canary-lv-private-key " + "x" * 1000))
    assert "canary-lv-private-key" not in error.detail
    assert len(error.detail) < 400


@pytest.mark.parametrize("status", [401, 403])
def test_bad_site_keys_are_vendor_rejected_and_logged(status: int, log_lines: list[str]) -> None:
    error = vendor_error("session_start", refusal(status, "Authentication failed"))
    assert isinstance(error, VendorRejected)
    assert error.status == 502
    logged = [json.loads(line) for line in log_lines]
    assert [(e["level"], e["status"]) for e in logged] == [("ERROR", status)]


def test_404_is_not_found() -> None:
    error = vendor_error("session_start", refusal(404, "No author found for the given author_token"))
    assert isinstance(error, NotFound)
    assert "No author found" in error.detail


def test_429_is_rate_limited_with_the_vendors_retry_after() -> None:
    error = vendor_error("session_start", refusal(429, "Too many requests", {"Retry-After": "9"}))
    assert isinstance(error, VendorRateLimited)
    assert error.response_headers() == {"Retry-After": "9"}
    without = vendor_error("session_start", refusal(429, "Too many requests"))
    assert int(without.response_headers()["Retry-After"]) > 0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_unavailable(status: int) -> None:
    error = vendor_error("session_start", refusal(status, "down", {"Retry-After": "11"}))
    assert isinstance(error, VendorUnavailable)
    assert error.response_headers() == {"Retry-After": "11"}


def test_an_unexpected_status_is_vendor_rejected() -> None:
    error = vendor_error("session_start", VendorResponse(418, CaseInsensitiveDict(), None))
    assert isinstance(error, VendorRejected)


def _template_timeouts() -> tuple[float, float]:
    defaults = template.parameter_defaults(template.cached())
    return float(defaults["VendorConnectTimeout"]), float(defaults["VendorReadTimeout"])


@pytest.mark.parametrize(
    "timeouts", [_template_timeouts(), (1.0, 1.0), (1.0, 2.0), (1.0, 3.0), (2.0, 3.0), (3.0, 10.0), (10.0, 10.0)]
)
def test_the_worst_case_stays_inside_the_budget(timeouts: tuple[float, float]) -> None:
    policy = retry_policy(*timeouts)
    retries = policy.connect + policy.read + policy.status
    if sum(timeouts) > VENDOR_BUDGET_SECONDS:
        assert retries == 0, "not even one attempt fits: never add more"
    else:
        assert worst_case_seconds(policy, *timeouts) <= VENDOR_BUDGET_SECONDS < 15
        assert retries == 0 or {"PUT", "DELETE", "GET"} <= set(policy.methods)


def test_with_the_template_defaults_connect_failures_are_still_retried() -> None:
    assert retry_policy(*_template_timeouts()).connect >= 1


def test_with_short_timeouts_reads_and_5xx_are_retried_too() -> None:
    policy = retry_policy(1.0, 1.0)
    assert (policy.connect, policy.read, policy.status) == (2, 1, 1)
    assert set(policy.status_forcelist) == {500, 502, 503, 504}


def test_worst_case_counts_every_attempt_and_the_backoff() -> None:
    policy = retry_policy(1.0, 1.0)
    # 3 full attempts of 2 s, 2 connect retries of 1 s, backoff 0.2 + 0.4 + 0.8 s.
    assert worst_case_seconds(policy, 1.0, 1.0) == pytest.approx(3 * 2 + 2 * 1 + 1.4)


def test_a_403_whose_info_says_a_limit_was_exceeded_is_rate_limited(log_lines: list[str]) -> None:
    error = vendor_error("session_start", refusal(403, "The API request limit of your plan has been exceeded"))
    assert isinstance(error, VendorRateLimited)
    assert int(error.response_headers()["Retry-After"]) > 0
    assert log_lines == [], "not a configuration error"
    assert isinstance(vendor_error("session_start", refusal(403, "Exceeded limits for this site")), VendorRateLimited)


@pytest.mark.parametrize(
    "info",
    [
        "The subdomain [wrong] is not linked to any OneAll site",
        "No site has been found for this subdomain",  # says "not found", but of the site: our configuration
        "Not Found",
        "",
    ],
)
def test_a_404_that_names_no_missing_thing_is_a_configuration_error(info: str, log_lines: list[str]) -> None:
    error = vendor_error("session_delete", refusal(404, info))
    assert isinstance(error, VendorRejected)
    assert [(e["level"], e["status"]) for e in map(json.loads, log_lines)] == [("ERROR", 404)]


def test_a_404_in_oneall_node_form_is_not_found() -> None:
    info = "The node [author_session_token] is invalid, no author session has been found for that token"
    assert isinstance(vendor_error("session_delete", refusal(404, info)), NotFound)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, VendorRejected),
        (403, VendorRejected),
        (404, VendorRejected),
        (429, VendorRateLimited),
        (500, VendorUnavailable),
        (503, VendorUnavailable),
        (400, InvalidRequest),
    ],
)
def test_a_body_that_is_not_json_is_mapped_by_its_status(status: int, expected: type) -> None:
    answer = VendorResponse(status, CaseInsensitiveDict({"Content-Type": "text/html"}), None, json_ok=False)
    assert isinstance(vendor_error("session_start", answer), expected)


def _now_plus(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "expiration",
    [
        "Fri, 31 Dec 9999 23:59:59 -0200",
        "Fri, 31 Dec 9999 23:59:59 +0000",
        "Mon, 01 Jan 0001 00:00:00 +0200",
        "Thu, 01 Jan 1970 00:00:00 +0000",
        "Mon, 26 Mar 2018 17:33:12 +0200",
    ],
)
def test_an_extreme_date_expiration_is_clamped_to_the_start_plus_the_lifetime(
    expiration: str, log_lines: list[str]
) -> None:
    now = datetime.now(UTC)
    created = now.strftime("%a, %d %b %Y %H:%M:%S +0000")
    session = parse_session(
        envelope(date_creation=created, date_expiration=expiration, expires_in=3600), status=200, expires_in=3600
    )
    assert abs(session.date_expiration.timestamp() - (now.timestamp() + 3600)) < 2
    assert any("date_expiration" in json.loads(line)["message"] for line in log_lines)


def test_an_unbelievable_creation_date_falls_back_to_the_envelope_date_then_our_clock() -> None:
    body = envelope(date_creation="Fri, 31 Dec 9999 23:59:59 -0200", date_expiration=None, expires_in=10**15)
    session = parse_session(body, status=200, expires_in=600)
    assert session.expires_in == 600, "a lifetime beyond any plan is not believed"
    # The envelope's date, Mon, 26 Mar 2018 17:35:43 +0200, plus 600 s.
    assert session.date_expiration == datetime(2018, 3, 26, 15, 45, 43, tzinfo=UTC)

    body["response"]["request"]["date"] = "Fri, 31 Dec 9999 23:59:59 +0000"
    session = parse_session(body, status=200, expires_in=600)
    assert abs(session.date_expiration.timestamp() - _now_plus(600).timestamp()) < 2


def test_a_date_expiration_within_the_lifetime_is_kept_with_its_offset() -> None:
    start = _now_plus(0).replace(microsecond=0)
    text = (start + timedelta(seconds=3600)).astimezone(timezone(timedelta(hours=2)))
    session = parse_session(
        envelope(
            date_creation=start.strftime("%a, %d %b %Y %H:%M:%S +0000"),
            date_expiration=text.strftime("%a, %d %b %Y %H:%M:%S +0200"),
            expires_in=3600,
        ),
        status=200,
        expires_in=3600,
    )
    assert session.date_expiration == start + timedelta(seconds=3600)
