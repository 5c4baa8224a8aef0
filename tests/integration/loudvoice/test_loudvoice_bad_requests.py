"""Bad PUT bodies: 400 naming every field at fault, before any vendor call and without any record."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest

from tests.conftest import Api, AwsBackend
from tests.integration.loudvoice.calls import JOHN, START, assert_no_canary

TOKEN = str(uuid.uuid4())
UUID1 = str(uuid.uuid1())


def body(author: object = JOHN, **extra: object) -> str:
    return json.dumps({"author": author, **extra})


# (id, raw body, the exact set of errors[].field the answer must name)
BAD_BODIES = [
    ("not json", "{author: USER-1}", {"body"}),
    ("empty body", "", {"body"}),
    ("an array", json.dumps([{"author": JOHN}]), {"body"}),
    ("a string", json.dumps("USER-1"), {"body"}),
    ("duplicate keys", '{"author": {"author_reference": "A"}, "author": {"author_reference": "B"}}', {"body"}),
    ("no author", json.dumps({"expires_in": 3600}), {"author"}),
    ("null author", body(None), {"author"}),
    ("author a string", body("USER-1"), {"author"}),
    ("author an array", body([JOHN]), {"author"}),
    ("no shape", body({"name": "John Doe"}), {"author"}),
    ("two shapes", body({"author_reference": "USER-1", "author_token": TOKEN}), {"author"}),
    ("three shapes", body({"author_reference": "U", "identity_token": TOKEN, "author_token": TOKEN}), {"author"}),
    ("reference a number", body({"author_reference": 123456}), {"author.author_reference"}),
    ("reference null", body({"author_reference": None}), {"author.author_reference"}),
    ("reference empty", body({"author_reference": ""}), {"author.author_reference"}),
    ("reference too long", body({"author_reference": "R" * 256}), {"author.author_reference"}),
    ("identity token not a uuid", body({"identity_token": "abc"}), {"author.identity_token"}),
    ("author token a uuid v1", body({"author_token": UUID1}), {"author.author_token"}),
    ("author token a number", body({"author_token": 42}), {"author.author_token"}),
    ("name empty", body({**JOHN, "name": ""}), {"author.name"}),
    ("name too long", body({**JOHN, "name": "n" * 256}), {"author.name"}),
    ("name an object", body({**JOHN, "name": {"first": "John"}}), {"author.name"}),
    ("email without domain", body({**JOHN, "email": "john@"}), {"author.email"}),
    ("email without at", body({**JOHN, "email": "john.example.com"}), {"author.email"}),
    ("email with spaces", body({**JOHN, "email": "john doe@example.com"}), {"author.email"}),
    (
        "email too long",
        body({**JOHN, "email": "j" * 64 + "@" + "e" * 63 + "." + "x" * 63 + "." + "y" * 63 + ".com"}),
        {"author.email"},
    ),
    ("email a list", body({**JOHN, "email": ["john@example.com"]}), {"author.email"}),
    ("javascript: picture", body({**JOHN, "picture_url": "javascript:alert(1)"}), {"author.picture_url"}),
    ("relative website", body({**JOHN, "website_url": "/users/1"}), {"author.website_url"}),
    ("website without host", body({**JOHN, "website_url": "https:///path"}), {"author.website_url"}),
    ("ftp picture", body({**JOHN, "picture_url": "ftp://example.com/john.png"}), {"author.picture_url"}),
    ("picture too long", body({**JOHN, "picture_url": "https://example.com/" + "p" * 2048}), {"author.picture_url"}),
    ("description too long", body({**JOHN, "description": "d" * 2001}), {"author.description"}),
    ("allow_create_new a string", body({**JOHN, "allow_create_new": "yes"}), {"author.allow_create_new"}),
    ("expires_in 0", body(expires_in=0), {"expires_in"}),
    ("expires_in -1", body(expires_in=-1), {"expires_in"}),
    ("expires_in 59", body(expires_in=59), {"expires_in"}),
    ("expires_in 10**12", body(expires_in=10**12), {"expires_in"}),
    ("expires_in 14d", body(expires_in="14d"), {"expires_in"}),
    ("expires_in true", body(expires_in=True), {"expires_in"}),
    ("expires_in a float", body(expires_in=3600.5), {"expires_in"}),
    ("expires_in null", body(expires_in=None), {"expires_in"}),
    ("unknown top-level field", body(session={"expires_in": 60}), {"session"}),
    ("unknown author field", body({**JOHN, "nickname": "JD"}), {"author.nickname"}),
    ("metadata with an author token", body({"author_token": TOKEN, "name": "John"}), {"author.name"}),
    (
        "metadata with an identity token",
        body({"identity_token": TOKEN, "allow_create_new": False, "email": "x"}),
        {"author.allow_create_new", "author.email"},
    ),
    (
        "every problem at once",
        body(
            {"author_reference": "", "name": "", "email": "nope", "website_url": "javascript:void(0)", "x": 1},
            expires_in="14d",
            extra=True,
        ),
        {
            "extra",
            "expires_in",
            "author.x",
            "author.author_reference",
            "author.name",
            "author.email",
            "author.website_url",
        },
    ),
]


@pytest.mark.parametrize(("raw", "fields"), [pytest.param(raw, fields, id=name) for name, raw, fields in BAD_BODIES])
def test_bad_body_is_refused_naming_each_field(
    raw: str, fields: set[str], api: Api, aws: AwsBackend, lv: Callable[[], dict[str, int]], log_lines: list[str]
) -> None:
    reply = api.put(START, body=raw, headers={"Content-Type": "application/json"})

    assert reply.status == 400, reply.text
    assert reply.header("Content-Type") == "application/problem+json"
    problem = reply.json()
    assert problem["code"] == "invalid_request"
    assert {e["field"] for e in problem["errors"]} == fields
    assert all(e["message"] for e in problem["errors"])
    assert lv() == {}, "no vendor call for a bad body"
    assert aws.items() == [], "no record for a bad body"
    assert_no_canary(log_lines, reply.body)


def test_the_table_is_big_enough() -> None:
    assert len(BAD_BODIES) >= 25


def test_wrong_types_name_the_expected_type(api: Api) -> None:
    reply = api.put(START, json={"author": {**JOHN, "name": 5}, "expires_in": "14d"})
    messages = {e["field"]: e["message"] for e in reply.json()["errors"]}
    assert messages == {
        "author.name": "expected a string, got number",
        "expires_in": "expected an integer (seconds), got string",
    }


def test_caller_tokens_in_a_bad_body_stay_out_of_the_logs(api: Api, log_lines: list[str]) -> None:
    secret = str(uuid.uuid4())
    reply = api.put(START, json={"author": {"author_token": secret, "name": "x"}})
    assert reply.status == 400
    assert secret not in "\n".join(log_lines)
