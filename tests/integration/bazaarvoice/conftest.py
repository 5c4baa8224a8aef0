"""Bazaarvoice fixtures: minted auth tokens, sandbox faults and error shapes, settings changes, page checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest

from local import config
from local.sandbox import bazaarvoice
from local.sandbox.client import SandboxClient
from tests.conftest import Api, AwsBackend

PASSKEY = bazaarvoice.PASSKEY
LANDING = "/bazaarvoice/confirm"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_ACCEPT = {"Accept": "application/json"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@pytest.fixture
def mint(sandbox_url: str) -> Callable[..., dict[str, str]]:
    """``mint(email=..., maxage=..., opaque=...)``: a fresh auth token (what the email link carries) and its user id."""

    def minted(**body: Any) -> dict[str, str]:
        return SandboxClient(sandbox_url).mint_bazaarvoice_token(**body)

    return minted


@pytest.fixture
def fault(sandbox_url: str) -> Callable[..., None]:
    """``fault(mode, count=1)``: the next ``count`` authenticateuser calls fail that way (timeouts hold 3 s)."""

    def add(mode: str, count: int = 1) -> None:
        SandboxClient(sandbox_url).fault("bazaarvoice", "authenticateuser", mode, count, seconds=3)

    return add


@pytest.fixture
def error_shape(sandbox_url: str) -> Callable[[str], None]:
    """``error_shape("classic" | "problem")``: how the BV sandbox renders its errors."""

    def switch(shape: str) -> None:
        SandboxClient(sandbox_url).bazaarvoice_error_shape(shape)

    return switch


@pytest.fixture
def bv_calls(sandbox_url: str) -> Callable[[], int]:
    """How many authenticateuser calls the sandbox received since the test began."""
    from tests.conftest import sandbox_calls

    return lambda: sandbox_calls(sandbox_url).get("bazaarvoice.authenticateuser", 0)


@pytest.fixture
def bv_settings(api: Api, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``bv_settings(BAZAARVOICE_CONFIRM_MODE="button", ...)``: change the function's environment for this test."""
    from authhooks import settings

    def change(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings.reset()

    return change


@pytest.fixture
def passkey(aws: AwsBackend, api: Api) -> Callable[[str], None]:
    """``passkey(value)``: what the deployment's Bazaarvoice secret holds from now on."""
    from authhooks import settings

    def rotate(value: str) -> None:
        aws.secretsmanager.put_secret_value(
            SecretId=config.secret_name("BazaarvoiceSecret"), SecretString=json.dumps({"passkey": value})
        )
        settings.reset()

    return rotate


def confirm_form(api: Api, token: str, return_to: str | None = None, **kw: Any) -> Any:
    """The landing page's own POST: a form with the token (and ``return_to``)."""
    from urllib.parse import urlencode

    fields = {"bv_authtoken": token, **({"return_to": return_to} if return_to is not None else {})}
    return api.post(LANDING, body=urlencode(fields), headers={**FORM, **kw.pop("headers", {})}, **kw)


def confirm_json(api: Api, body: dict[str, Any]) -> Any:
    return api.post(LANDING, json=body, headers=JSON_ACCEPT)


class Page(HTMLParser):
    """A landing page parsed: every start tag with its attributes, the text, and structural problems."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.doctype = ""
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.problems: list[str] = []
        self.scripts: list[str] = []
        self.text_parts: list[str] = []
        self._open: list[str] = []
        self._in_script = False
        self.feed(text)
        self.close()
        if self._open:
            self.problems.append(f"unclosed: {self._open}")

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        if len(names) != len(set(names)):
            self.problems.append(f"duplicate attribute in <{tag}>")
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self._open.append(tag)
        self._in_script = tag == "script"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self._open[-1:] or 'nothing'}")
        else:
            self._open.pop()
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)
        else:
            self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def one(self, tag: str, **match: str) -> dict[str, str | None] | None:
        found = [a for a in self.all(tag) if all(a.get(k) == v for k, v in match.items())]
        assert len(found) <= 1, f"more than one <{tag}> matching {match}"
        return found[0] if found else None

    def field(self, name: str) -> str | None:
        """The value of the hidden form field ``name`` (the first form's), or None."""
        found = self.one("input", name=name)
        return None if found is None else found.get("value")


def page_of(reply: Any) -> Page:
    """The reply as a checked landing page: HTML5, ``lang``, viewport, site name, support link, our headers."""
    assert reply.header("Content-Type") == "text/html; charset=utf-8"
    page = Page(reply.text)
    assert page.doctype.lower() == "doctype html"
    assert not page.problems, page.problems
    html = page.all("html")
    assert len(html) == 1 and html[0].get("lang") == "en"
    assert page.one("meta", charset="utf-8") is not None
    viewport = page.one("meta", name="viewport")
    assert viewport is not None and "width=device-width" in (viewport.get("content") or "")
    assert len(page.all("h1")) == 1 and len(page.all("title")) == 1
    assert "authhooks demo store" in page.text
    assert page.one("a", href="https://support.example.com/") is not None
    assert not [name for _, attrs in page.tags for name in attrs if name.startswith("on")], "inline event handler"
    assert not [tag for tag, attrs in page.tags if "style" in attrs], "inline style attribute"
    csp = reply.header("Content-Security-Policy") or ""
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert reply.header("Referrer-Policy") == "no-referrer"
    assert reply.header("Cache-Control") == "no-store"
    assert reply.header("X-Content-Type-Options") == "nosniff"
    assert reply.header("Strict-Transport-Security") is not None
    assert reply.header("X-Frame-Options") == "DENY"
    return page
