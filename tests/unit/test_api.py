"""The shared resolver: one place turns every exception into problem+json, with security headers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from authhooks.api import form_or_json, json_object, lambda_entry, make_resolver
from authhooks.errors import FieldError, InvalidRequest, VendorRateLimited

from local import events
from local.runtime import LambdaContext


def _handler() -> Any:
    app = make_resolver()

    @app.get("/things/<thing_id>")
    def get_thing(thing_id: str) -> dict[str, Any]:
        if thing_id == "bug":
            raise RuntimeError("secret-internal-detail")
        if thing_id == "quota":
            raise VendorRateLimited("vendor quota reached", retry_after=7)
        if thing_id == "bad":
            raise InvalidRequest.of(
                [
                    FieldError("author.email", "not a valid email address"),
                    FieldError("expires_in", "must be an integer"),
                ]
            )
        return {"id": thing_id}

    @app.post("/things")
    def post_thing() -> dict[str, Any]:
        return json_object(app.current_event.raw_event)

    return lambda_entry(app)


def call(method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None) -> Any:
    event = events.http_api_event(
        method, path, body=body, headers=headers or {"content-type": "application/json"}, request_id="req-1"
    )
    status, header_list, raw = events.http_response(_handler()(event, LambdaContext("test")))
    return status, dict(header_list), json.loads(raw) if raw else None


def test_success_carries_the_security_headers() -> None:
    status, headers, body = call("GET", "/things/1")
    assert (status, body) == (200, {"id": "1"})
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "max-age=" in headers["Strict-Transport-Security"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]


def test_a_bug_is_a_500_with_only_the_request_id() -> None:
    status, headers, body = call("GET", "/things/bug")
    assert status == 500
    assert headers["Content-Type"] == "application/problem+json"
    assert body == {
        "type": "about:blank",
        "title": "Internal error",
        "status": 500,
        "code": "internal_error",
        "request_id": "req-1",
    }


def test_service_errors_render_as_problem_json_with_retry_after() -> None:
    status, headers, body = call("GET", "/things/quota")
    assert status == 503 and body["code"] == "vendor_rate_limited" and headers["Retry-After"] == "7"


def test_invalid_request_lists_every_field() -> None:
    status, _, body = call("GET", "/things/bad")
    assert status == 400 and body["code"] == "invalid_request"
    assert body["detail"].startswith("author.email: not a valid email address")
    assert [e["field"] for e in body["errors"]] == ["author.email", "expires_in"]


def test_unknown_route_is_404_and_wrong_method_is_405_with_allow() -> None:
    status, _, body = call("GET", "/nowhere")
    assert status == 404 and body["code"] == "not_found"
    status, headers, body = call("DELETE", "/things/1")
    assert status == 405 and body["code"] == "method_not_allowed" and headers["Allow"] == "GET"


def test_oversized_body_is_413_before_routing() -> None:
    status, _, body = call("POST", "/things", body=json.dumps({"x": "a" * 70_000}))
    assert status == 413 and body["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "a JSON object is required"),
        ("[1, 2]", "must be a JSON object"),
        ("{", "not valid JSON"),
        ('{"a": 1, "a": 2}', "duplicate key"),
        ("[" * 10_000 + "]" * 10_000, "JSON"),
    ],
)
def test_json_body_problems_name_the_body(raw: str, message: str) -> None:
    status, _, body = call("POST", "/things", body=raw)
    assert status == 400 and body["errors"][0]["field"] == "body"
    assert message in body["detail"] or body["detail"].startswith("body:")


def test_invalid_utf8_is_a_400() -> None:
    event = events.http_api_event("POST", "/things", body=b"\xff\xfe{}", headers={"content-type": "application/json"})
    with pytest.raises(InvalidRequest) as caught:
        json_object(event)
    assert caught.value.errors[0].field == "body"


def test_form_or_json_reads_both_and_refuses_other_types() -> None:
    form = events.http_api_event(
        "POST", "/x", body="bv_authtoken=abc&return_to=", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert form_or_json(form) == {"bv_authtoken": "abc", "return_to": ""}
    as_json = events.http_api_event(
        "POST", "/x", body='{"bv_authtoken": "abc"}', headers={"content-type": "application/json; charset=utf-8"}
    )
    assert form_or_json(as_json) == {"bv_authtoken": "abc"}
    other = events.http_api_event("POST", "/x", body="x", headers={"content-type": "text/plain"})
    with pytest.raises(InvalidRequest) as caught:
        form_or_json(other)
    assert caught.value.errors[0].field == "content-type"
