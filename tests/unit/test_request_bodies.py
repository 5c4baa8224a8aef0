"""Request bodies the audit found answered with a 500 or accepted by mistake: now each is a 400 naming what is wrong."""

from __future__ import annotations

import pytest
from authhooks.api import form_or_json, json_object
from authhooks.errors import InvalidRequest

from local import events


def _event(body: str | bytes, content_type: str | None) -> dict:
    headers = {"content-type": content_type} if content_type else {}
    return events.http_api_event("POST", "/x", body=body, headers=headers)


def _refused(reader: object, event: dict) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        reader(event)  # type: ignore[operator]
    return caught.value


@pytest.mark.parametrize(
    "body",
    [
        '{"password": "\\ud800"}',
        '{"a": ["x", {"b": "\\udfff"}]}',
        '{"\\ud83d": 1}',
        '{"a": "ok \\ud83d then not a pair"}',
    ],
)
def test_a_lone_surrogate_escape_anywhere_is_a_400(body: str) -> None:
    # It used to reach a SHA-256 key or a URL quote and fail there with a UnicodeEncodeError (a 500).
    error = _refused(json_object, _event(body, "application/json"))
    assert error.errors[0].field == "body" and "surrogate" in error.errors[0].message


def test_a_surrogate_pair_is_one_character_and_fine() -> None:
    assert json_object(_event('{"name": "\\ud83d\\ude00"}', "application/json")) == {"name": "\U0001f600"}


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x"],
)
def test_json_routes_refuse_a_body_declared_as_something_else(content_type: str) -> None:
    error = _refused(json_object, _event('{"account": "demo"}', content_type))
    assert error.errors[0].field == "content-type"


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "application/json; charset=utf-8", "application/merge-patch+json"]
)
def test_json_routes_read_json_and_a_body_without_a_type(content_type: str | None) -> None:
    assert json_object(_event('{"account": "demo"}', content_type)) == {"account": "demo"}


def test_a_form_with_more_fields_than_any_page_posts_is_a_400_not_a_500() -> None:
    body = "&".join(f"field{i}=x" for i in range(21))
    error = _refused(form_or_json, _event(body, "application/x-www-form-urlencoded"))
    assert error.errors[0].field == "body"
    assert form_or_json(_event("&".join(f"field{i}=x" for i in range(20)), None))["field19"] == "x"
