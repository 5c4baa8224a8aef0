"""Hostile input: XSS in bv_authtoken and return_to never appears unescaped; open redirects are never followed."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from urllib.parse import quote

import pytest

from tests.conftest import Api
from tests.integration.bazaarvoice.conftest import LANDING, Page, confirm_form, page_of

XSS = [
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    "</script><script>alert(1)</script>",
    "</textarea></title><svg/onload=alert(1)>",
    '" autofocus onfocus="alert(1)',
    "' onmouseover='alert(1)'",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)",
    "java\tscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#x3C;script&#x3E;alert(1)",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "${site_name}$content$$",
    'https://shop.example.com/"><script>alert(1)</script>',
    "https://shop.example.com/?q=<script>alert(1)</script>",
    "https://shop.example.com/#'-alert(1)-'",
    "<!--",
    "]]><![CDATA[<script>alert(1)</script>",
    "\u2028\u2029<script>alert(1)</script>",
]

OPEN_REDIRECTS = [
    "//evil.example",
    "///evil.example",
    "//evil.example/https://shop.example.com",
    "https://evil.example",
    "https://evil.example/https://shop.example.com",
    "https://evil.example?https://shop.example.com",
    "https://evil.example#https://shop.example.com",
    "https://shop.example.com.evil.example",
    "https://allowed.example.evil.example",
    "https://shop.example.com@evil.example",
    "https://user:pass@shop.example.com/",
    "https://shop.example.com%40evil.example",
    "https://shop.example.com%2f@evil.example",
    "https://evil.example\\@shop.example.com",
    "https://evil.example\\.shop.example.com",
    "https:\\\\evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "https:/evil.example",
    "http://shop.example.com/",  # the right host, the wrong scheme
    "https://shop.example.com:8443/",  # the right host, another port
    "https://shop.example.com\t.evil.example",
    " https://evil.example",
    "https://evil.example\r\nLocation: https://shop.example.com",
    "https://evil.example%00.shop.example.com",
    "https://shop.example.com%00.evil.example",
    "https://xn--shp-9cd.example.com",
    "https://sh\u043ep.example.com",  # a Cyrillic o
    "javascript://shop.example.com/%0aalert(1)",
    "data:text/html,<script>location='https://evil.example'</script>",
    "ftp://shop.example.com/",
    "/bazaarvoice/../../evil.example",
    "evil.example",
    "https://shop.example.com[",  # an unbalanced IPv6 bracket: the URL parser refuses it
    "",
]


def assert_escaped(text: str, vector: str) -> None:
    """The vector, if it has anything HTML could act on, appears only escaped."""
    if any(ch in vector for ch in "<>\"'&"):
        assert vector not in text, f"unescaped: {vector!r}"


def assert_only_our_markup(page: Page) -> None:
    """No tag or attribute the attacker could have brought: scripts, handlers, foreign links, forms."""
    allowed_tags = {
        "html",
        "head",
        "meta",
        "title",
        "link",
        "style",
        "body",
        "header",
        "main",
        "footer",
        "p",
        "h1",
        "form",
        "input",
        "button",
        "noscript",
        "a",
        "script",
    }
    assert {tag for tag, _ in page.tags} <= allowed_tags
    assert page.scripts in (
        [],
        [
            'const region = document.getElementById("confirm-status");\n'
            "region.textContent = region.dataset.message;\n"
            'document.getElementById("confirm-form").submit();'
        ],
    )
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "a":
            assert attrs["href"] in ("https://support.example.com/",), attrs
        if tag == "form":
            assert attrs["action"] == "confirm", attrs
        if tag == "meta":
            assert "http-equiv" not in attrs, attrs


@pytest.mark.parametrize("vector", XSS)
def test_xss_in_the_token_and_return_to_never_appears_unescaped(api: Api, fault: Callable, vector: str) -> None:
    link = api.get(LANDING, query={"bv_authtoken": vector, "return_to": vector})
    assert link.status == 200
    confirm_page = page_of(link)
    assert_escaped(link.text, vector)
    assert_only_our_markup(confirm_page)
    assert confirm_page.field("bv_authtoken") == vector.strip()  # reflected, as an attribute value, escaped
    assert confirm_page.field("return_to") is None  # not on the allow-list: ignored

    # First, while BV has not refused it yet (a refusal is remembered and answered without BV):
    fault("error_500")  # the page that carries the token back in its "try again" form
    retry = confirm_form(api, vector, vector)
    assert retry.status == 503
    assert_escaped(retry.text, vector)
    retry_page = page_of(retry)
    assert_only_our_markup(retry_page)
    assert retry_page.field("bv_authtoken") == vector.strip()

    rejected = confirm_form(api, vector, vector)  # BV has never seen it: the expired-link page
    assert rejected.status == 400
    assert_escaped(rejected.text, vector)
    assert_only_our_markup(page_of(rejected))


def test_the_escaped_form_is_what_reaches_the_page(api: Api) -> None:
    vector = '"><script>alert(1)</script>'
    text = api.get(LANDING, query={"bv_authtoken": vector}).text
    assert f'value="{escape(vector, quote=True)}"' in text


def test_a_raw_query_string_with_encoded_vectors_is_decoded_once_and_escaped(api: Api) -> None:
    vector = "<script>alert(1)</script>"
    raw = f"bv_authtoken={quote(vector)}&return_to={quote(quote(vector))}"
    reply = api.get(LANDING, query=raw)
    assert vector not in reply.text
    assert page_of(reply).field("bv_authtoken") == vector


def test_an_oversized_hostile_token_is_the_incomplete_page(api: Api) -> None:
    reply = api.get(LANDING, query={"bv_authtoken": "<script>" * 100})
    assert reply.status == 400 and "<script><script>" not in reply.text
    assert_only_our_markup(page_of(reply))


@pytest.mark.parametrize("vector", OPEN_REDIRECTS)
def test_open_redirect_vectors_are_never_followed(api: Api, mint: Callable, vector: str) -> None:
    token = mint()["bv_authtoken"]
    link = api.get(LANDING, query={"bv_authtoken": token, "return_to": vector})
    link_page = page_of(link)
    assert link_page.field("return_to") is None
    confirmed = confirm_form(api, token, vector)
    assert confirmed.status == 200
    page = page_of(confirmed)
    assert_only_our_markup(page)  # no link but the support link, no refresh
    assert confirmed.header("Location") is None
    assert "evil" not in confirmed.text.lower()


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.com/",
        "https://shop.example.com/account?x=1&y=2#reviews",
        "HTTPS://SHOP.EXAMPLE.COM/p",
        "https://shop.example.com:443/p",
        "http://127.0.0.1:3000/done",
    ],
)
def test_allowed_origins_are_honoured_exactly(api: Api, mint: Callable, url: str) -> None:
    page = page_of(confirm_form(api, mint()["bv_authtoken"], url))
    assert page.one("a", href=url) is not None
    assert page.one("meta", **{"http-equiv": "refresh"}) is None  # a link to follow, never a timed redirect
