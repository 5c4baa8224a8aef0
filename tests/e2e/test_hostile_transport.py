"""Hostile requests through the real local HTTP API (sockets, the gateway, the function workers).

Invalid UTF-8, JSON nested 10,000 deep, a 1 MiB body, duplicate keys, lone surrogates, a wrong Content-Type,
too many form fields, CR/LF in every string field and a non-JSON Accept: each gets a 4xx problem+json (the
HTML error page on the landing routes), never a 5xx, and nothing a caller sends ever splits a response header.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest

from local.audit import tally
from local.stack import Stack

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
INJECTION = "x\r\nX-Injected: yes\r\n\r\n<script>alert(1)</script>"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def send(
    stack: Stack, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> Answer:
    """One request exactly as given (http.client neither re-encodes the body nor normalises the path)."""
    url = urlsplit(stack.api_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        answer = Answer(response.status, response.getheaders(), response.read())
    finally:
        connection.close()
    tally("hostile.sent", f"{method} {path.split('?', maxsplit=1)[0]}")
    if answer.status >= 500:
        tally("server_errors", f"{method} {path.split('?', maxsplit=1)[0]}")
    return answer


def assert_refused(answer: Answer, status: int = 400, *, html: bool = False, field: str | None = None) -> None:
    """A 4xx of the expected kind; never a 5xx, and the security headers are on it."""
    assert answer.status == status, (answer.status, answer.body[:300])
    content_type = answer.header("Content-Type") or ""
    if html:
        assert content_type.startswith("text/html"), content_type
        assert b"<!DOCTYPE html>" in answer.body[:200]
    else:
        assert content_type == PROBLEM_JSON, content_type
        problem = json.loads(answer.body)
        assert problem["status"] == status and problem["code"] != "internal_error"
        if field is not None:
            assert field in [e["field"] for e in problem.get("errors", [])], problem
    assert answer.header("X-Content-Type-Options") == "nosniff"
    tally("hostile.clean")


def assert_not_split(answer: Answer) -> None:
    """Whatever the status, the caller's CR/LF did not become a header or a body of its own."""
    assert answer.status < 500, (answer.status, answer.body[:300])
    assert answer.header("X-Injected") is None
    for name, value in answer.headers:
        assert "\r" not in value and "\n" not in value, name
    content_type = answer.header("Content-Type") or ""
    if answer.status >= 400:
        assert content_type.startswith((PROBLEM_JSON, "text/html")), content_type
    if content_type.startswith("text/html"):
        assert b"<script>alert(1)</script>" not in answer.body, "caller text is escaped in pages"
    tally("hostile.clean")


# The JSON body routes, each with a valid body (so that only the hostile part can be what is refused).
JSON_ROUTES = [
    ("PUT", "/loudvoice/sessions", {"author": {"author_reference": "HOSTILE-1", "name": "Hostile Tester"}}),
    ("POST", "/livevox/sessions", {"client_name": "SANDBOX", "user_name": "hostile", "password": "sandbox-password"}),
    ("POST", "/livevox/sessions/sso", {"client_name": "SANDBOX", "id_token": "sandbox-id-token:hostile"}),
]
JSON_IDS = [f"{method} {path}" for method, path, _ in JSON_ROUTES]
# The landing POST, answered as a page (browsers) or as problem+json (scripts).
LANDING = "/bazaarvoice/confirm"
LANDING_AS = {"page": ({"Accept": "text/html"}, True), "json": ({"Accept": JSON}, False)}
# Routes without a body; a body sent anyway must not matter, and an oversized one is refused.
BODYLESS = [
    ("GET", "/bazaarvoice/confirm?bv_authtoken=abc"),
    ("GET", "/bazaarvoice/users/someone"),
    ("GET", "/loudvoice/sessions/9b2d4f52-2f7c-4a7e-9a51-1b7d1f7e0c11"),
    ("DELETE", "/loudvoice/sessions/9b2d4f52-2f7c-4a7e-9a51-1b7d1f7e0c11"),
    ("GET", "/livevox/sessions/no-such-session"),
    ("DELETE", "/livevox/sessions/no-such-session"),
]

DEEP_ARRAY = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJECT = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
ONE_MIB = b'{"padding": "' + b"x" * (1024 * 1024) + b'"}'

# What each hostile JSON body is refused as: (the body, the field the problem names).
BAD_JSON_BODIES = {
    "invalid-utf8": (b'{"x": "\xff\xfe\xfd"}', "body"),
    "nested-array-10000": (DEEP_ARRAY, "body"),
    "nested-object-10000": (DEEP_OBJECT, "body"),
    "lone-surrogate": (b'{"x": "\\ud800"}', "body"),
    "truncated": (b'{"x": ', "body"),
    "not-an-object": (b'["a", "b"]', "body"),
}


@pytest.mark.parametrize("case", sorted(BAD_JSON_BODIES))
@pytest.mark.parametrize(("method", "path", "valid"), JSON_ROUTES, ids=JSON_IDS)
def test_unreadable_json_is_a_400_naming_the_body(
    stack: Stack, method: str, path: str, valid: dict[str, Any], case: str
) -> None:
    body, field = BAD_JSON_BODIES[case]
    assert_refused(send(stack, method, path, body, {"Content-Type": JSON}), field=field)


@pytest.mark.parametrize(("method", "path", "valid"), JSON_ROUTES, ids=JSON_IDS)
def test_duplicate_keys_are_refused_not_silently_merged(
    stack: Stack, method: str, path: str, valid: dict[str, Any]
) -> None:
    first, value = next(iter(valid.items()))
    text = json.dumps(valid)[:-1] + f", {json.dumps(first)}: {json.dumps(value)}}}"
    assert_refused(send(stack, method, path, text.encode(), {"Content-Type": JSON}), field="body")


@pytest.mark.parametrize(("method", "path", "valid"), JSON_ROUTES, ids=JSON_IDS)
def test_a_lone_surrogate_in_a_real_field_is_refused(
    stack: Stack, method: str, path: str, valid: dict[str, Any]
) -> None:
    # Escapes that decode to no character: hashed into a key or sent on, they failed deep inside (a 500).
    body = json.dumps(valid).replace('"sandbox-', '"\\udfff-').replace('"HOSTILE-', '"\\ud800-')
    assert "\\ud" in body
    assert_refused(send(stack, method, path, body.encode(), {"Content-Type": JSON}), field="body")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", FORM, "multipart/form-data; boundary=x", "application/octet-stream"],
)
@pytest.mark.parametrize(("method", "path", "valid"), JSON_ROUTES, ids=JSON_IDS)
def test_a_body_declared_as_something_else_is_refused(
    stack: Stack, method: str, path: str, valid: dict[str, Any], content_type: str
) -> None:
    answer = send(stack, method, path, json.dumps(valid).encode(), {"Content-Type": content_type})
    assert_refused(answer, field="content-type")


@pytest.mark.parametrize(("method", "path", "valid"), JSON_ROUTES, ids=JSON_IDS)
@pytest.mark.parametrize("accept", ["application/xml", "text/html", "text/plain", "image/png"])
def test_a_non_json_accept_still_gets_the_problem_json(
    stack: Stack, method: str, path: str, valid: dict[str, Any], accept: str
) -> None:
    bad = {**valid, "unexpected": True}
    answer = send(stack, method, path, json.dumps(bad).encode(), {"Content-Type": JSON, "Accept": accept})
    assert_refused(answer, field="unexpected")


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in JSON_ROUTES] + [("POST", LANDING)] + BODYLESS)
def test_a_one_mib_body_is_413_on_every_route(stack: Stack, method: str, path: str) -> None:
    assert_refused(send(stack, method, path, ONE_MIB, {"Content-Type": JSON}), status=413)


LANDING_BODIES = {
    "invalid-utf8-form": (FORM, b"bv_authtoken=\xff\xfe"),
    "invalid-utf8-json": (JSON, b'{"bv_authtoken": "\xff"}'),
    "nested-10000": (JSON, DEEP_ARRAY),
    "duplicate-keys": (JSON, b'{"bv_authtoken": "a", "bv_authtoken": "b"}'),
    "lone-surrogate": (JSON, b'{"bv_authtoken": "\\ud800"}'),
    "too-many-form-fields": (FORM, "&".join(f"field{i}=x" for i in range(50)).encode()),
    "wrong-content-type": ("text/plain", b"bv_authtoken=abc"),
    "no-token": (FORM, b"return_to=https%3A%2F%2Fshop.example.com%2F"),
}


@pytest.mark.parametrize("case", sorted(LANDING_BODIES))
@pytest.mark.parametrize("answer_as", sorted(LANDING_AS))
def test_the_landing_post_refuses_hostile_bodies_with_a_page_or_a_problem(
    stack: Stack, case: str, answer_as: str
) -> None:
    content_type, body = LANDING_BODIES[case]
    accept, html = LANDING_AS[answer_as]
    answer = send(stack, "POST", LANDING, body, {"Content-Type": content_type, **accept})
    assert_refused(answer, html=html)


# --- CR/LF in every string field -----------------------------------------------------------------------


def _string_fields(value: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _string_fields(item, (*path, key))]
    return [path] if isinstance(value, str) else []


def _with(value: Any, path: tuple[str, ...], text: str) -> Any:
    if not path:
        return text
    return {**value, path[0]: _with(value[path[0]], path[1:], text)}


RICH_AUTHOR = {
    "author": {
        "author_reference": "HOSTILE-2",
        "name": "Hostile Tester",
        "email": "h@example.com",
        "description": "about me",
        "picture_url": "https://cdn.example.com/p.png",
        "website_url": "https://example.com/",
    }
}
INJECTABLE = [
    ("PUT", "/loudvoice/sessions", RICH_AUTHOR),
    *JSON_ROUTES[1:],
    ("POST", "/livevox/sessions", {"account": "demo"}),
]
FIELD_CASES = [(method, path, valid, field) for method, path, valid in INJECTABLE for field in _string_fields(valid)]


@pytest.mark.parametrize(
    ("method", "path", "valid", "field"), FIELD_CASES, ids=[f"{m} {p} {'.'.join(f)}" for m, p, _, f in FIELD_CASES]
)
def test_cr_lf_in_a_json_field_never_splits_a_header(
    stack: Stack, method: str, path: str, valid: dict[str, Any], field: tuple[str, ...]
) -> None:
    body = json.dumps(_with(valid, field, INJECTION)).encode()
    assert_not_split(send(stack, method, path, body, {"Content-Type": JSON}))


@pytest.mark.parametrize("field", ["bv_authtoken", "return_to"])
@pytest.mark.parametrize("answer_as", sorted(LANDING_AS))
def test_cr_lf_in_the_landing_fields_never_splits_a_header(stack: Stack, field: str, answer_as: str) -> None:
    values = {"bv_authtoken": "never-minted-token", "return_to": "https://shop.example.com/", field: INJECTION}
    accept, _ = LANDING_AS[answer_as]
    assert_not_split(send(stack, "POST", LANDING, urlencode(values).encode(), {"Content-Type": FORM, **accept}))
    assert_not_split(send(stack, "GET", f"{LANDING}?{urlencode(values)}", None, accept))


@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("GET", "/bazaarvoice/users/{}"),
        ("GET", "/loudvoice/sessions/{}"),
        ("DELETE", "/loudvoice/sessions/{}"),
        ("GET", "/livevox/sessions/{}"),
        ("DELETE", "/livevox/sessions/{}"),
    ],
)
def test_cr_lf_in_a_path_parameter_never_splits_a_header(stack: Stack, method: str, template: str) -> None:
    answer = send(stack, method, template.format(quote(INJECTION, safe="")))
    assert_not_split(answer)
    assert answer.status in (204, 400, 404), answer.status
