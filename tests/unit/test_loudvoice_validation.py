"""PUT /loudvoice/sessions validation: the three shapes, defaults, the author key and the metadata fingerprint."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from authhooks.errors import InvalidRequest
from authhooks.telemetry import redactor
from loudvoice_session import author_sessions

TOKEN = str(uuid.uuid4())
JOHN = {"author_reference": "USER-1", "name": "John Doe", "email": "john@example.com"}


@pytest.fixture(autouse=True)
def _forget_request_secrets() -> Iterator[None]:
    yield
    redactor.end_request()


def fields(body: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidRequest) as refused:
        author_sessions.parse_request(body)
    return [e.field for e in refused.value.errors]


def test_a_reference_gets_the_defaults() -> None:
    request = author_sessions.parse_request({"author": JOHN})
    assert request.author == {**JOHN, "allow_create_new": True}
    assert request.expires_in == 1209600
    assert request.author_key == "ref:USER-1"


def test_every_metadata_field_is_passed_on() -> None:
    author = {
        **JOHN,
        "allow_create_new": False,
        "description": "",
        "picture_url": "https://cdn.example.com/j.png?s=64",
        "website_url": "http://example.com:8080/~john",
    }
    request = author_sessions.parse_request({"author": author, "expires_in": 60})
    assert request.author == author
    assert request.expires_in == 60


@pytest.mark.parametrize(("shape", "prefix"), [("identity_token", "identity"), ("author_token", "author")])
def test_token_shapes_carry_only_the_token(shape: str, prefix: str) -> None:
    request = author_sessions.parse_request({"author": {shape: TOKEN}, "expires_in": 31536000})
    assert request.author == {shape: TOKEN}
    assert request.author_key == f"{prefix}:{TOKEN}"
    assert request.expires_in == 31536000


def test_token_shapes_accept_upper_case_uuids() -> None:
    assert author_sessions.parse_request({"author": {"author_token": TOKEN.upper()}}).author_key.endswith(TOKEN.upper())


def test_the_same_reference_through_another_shape_is_another_author_key() -> None:
    keys = {
        author_sessions.parse_request({"author": a}).author_key
        for a in ({"author_reference": TOKEN}, {"identity_token": TOKEN}, {"author_token": TOKEN})
    }
    assert len(keys) == 3


def test_equivalent_requests_have_one_fingerprint() -> None:
    plain = author_sessions.parse_request({"author": JOHN})
    spelt_out = author_sessions.parse_request(
        {"expires_in": 1209600, "author": {"allow_create_new": True, **dict(reversed(list(JOHN.items())))}}
    )
    assert plain.fingerprint == spelt_out.fingerprint
    assert len(plain.fingerprint) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"author": {**JOHN, "name": "Johnny"}},
        {"author": {**JOHN, "email": "johnny@example.com"}},
        {"author": {**JOHN, "allow_create_new": False}},
        {"author": {**JOHN, "description": ""}},
        {"author": {**JOHN, "website_url": "https://example.com/"}},
        {"author": JOHN, "expires_in": 3600},
    ],
)
def test_any_metadata_change_changes_the_fingerprint(change: dict[str, Any]) -> None:
    original = author_sessions.parse_request({"author": JOHN})
    assert author_sessions.parse_request(change).fingerprint != original.fingerprint


@pytest.mark.parametrize(
    "email",
    [
        "john@example.com",
        "john.doe+comments@mail.example.co.uk",
        "o'brien@example.ie",
        "x@a-b.io",
        "JOHN@EXAMPLE.COM",
    ],
)
def test_ordinary_addresses_are_accepted(email: str) -> None:
    author_sessions.parse_request({"author": {**JOHN, "email": email}})


@pytest.mark.parametrize(
    "email",
    [
        "john",
        "john@",
        "@example.com",
        "john@example",
        "john@@example.com",
        "john@exa mple.com",
        "john@-example.com",
        "john@example.com\n",
        "j" * 65 + "@example.com",
        "john@" + "d" * 250 + ".com",
    ],
)
def test_broken_addresses_are_refused(email: str) -> None:
    assert fields({"author": {**JOHN, "email": email}}) == ["author.email"]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:image/png;base64,AAAA",
        "//example.com/j.png",
        "/j.png",
        "j.png",
        "https://",
        "https:///j.png",
        "http://exa mple.com/",
        "https://example.com:99999/",
        "http://[::1/",
        "mailto:john@example.com",
        "",
    ],
)
def test_urls_must_be_absolute_http(url: str) -> None:
    assert fields({"author": {**JOHN, "picture_url": url}}) == ["author.picture_url"]


def test_the_limits_are_inclusive() -> None:
    author_sessions.parse_request(
        {
            "author": {**JOHN, "author_reference": "r" * 255, "name": "n" * 255, "description": "d" * 2000},
            "expires_in": 60,
        }
    )
    assert fields({"author": {**JOHN, "author_reference": "r" * 256}, "expires_in": 31536001}) == [
        "expires_in",
        "author.author_reference",
    ]


def test_every_problem_is_listed_and_the_detail_names_the_first() -> None:
    with pytest.raises(InvalidRequest) as refused:
        author_sessions.parse_request({"author": {"author_token": "nope", "name": 1}, "expires_in": "14d", "x": None})
    assert [e.field for e in refused.value.errors] == ["x", "expires_in", "author.author_token", "author.name"]
    assert refused.value.detail.startswith("x: unknown field (and 3 more)")


def test_caller_tokens_are_registered_as_secrets_at_once() -> None:
    secret = str(uuid.uuid4())
    with pytest.raises(InvalidRequest):
        author_sessions.parse_request({"author": {"identity_token": secret, "name": "x"}})
    assert secret not in redactor.scrub(f"token {secret}")


# Ids by kind, not by value: parallel workers must collect the same tests (the values are new in each process).
@pytest.mark.parametrize("token", [TOKEN, TOKEN.upper(), str(uuid.uuid1())], ids=["uuid4", "upper-case", "uuid1"])
def test_path_tokens_must_be_uuids(token: str) -> None:
    author_sessions.check_token(token)
    assert redactor.scrub(token) == "***"


@pytest.mark.parametrize(
    "token",
    ["x", "../../admin", TOKEN + "0", TOKEN.replace("-", "")],
    ids=["x", "traversal", "one-digit-too-many", "no-hyphens"],
)
def test_other_path_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        author_sessions.check_token(token)
    assert [e.field for e in refused.value.errors] == ["session_token"]
