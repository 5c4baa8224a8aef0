"""The landing page in Debian's headless Chromium against the local stack: with and without JavaScript.

Each page is saved as a full-page screenshot under tests/e2e/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from local.stack import Stack

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE = {"width": 412, "height": 860}
CONFIRMED = "Your email address is confirmed"
ALREADY = "Your email address is already confirmed"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser: the network is closed)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: install Debian's package (`make browser`); "
            "the landing-page browser tests never run without it"
        )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Tab:
    """One page in a fresh browser context, collecting every console message and script error."""

    def __init__(self, browser: Any, *, javascript: bool = True) -> None:
        self.context = browser.new_context(java_script_enabled=javascript, viewport=PHONE)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text))
        self.page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    def csp_violations(self) -> list[str]:
        return [line for line in self.console if "Content Security Policy" in line]

    def heading(self) -> str:
        return self.page.locator("h1").inner_text()

    def screenshot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    opened = Tab(browser)
    yield opened
    assert opened.csp_violations() == []
    opened.context.close()


@pytest.fixture
def tab_without_js(browser: Any) -> Iterator[Tab]:
    opened = Tab(browser, javascript=False)
    yield opened
    assert opened.csp_violations() == []
    opened.context.close()


@pytest.fixture
def sandbox(stack: Stack) -> Iterator[str]:
    yield stack.sandbox_url
    requests.delete(f"{stack.sandbox_url}/_sandbox/faults", timeout=5).raise_for_status()


def mint(sandbox_url: str) -> str:
    response = requests.post(f"{sandbox_url}/_sandbox/bazaarvoice/tokens", json={}, timeout=5)
    response.raise_for_status()
    return response.json()["bv_authtoken"]


def bv_calls(sandbox_url: str) -> int:
    return requests.get(f"{sandbox_url}/_sandbox/calls", timeout=5).json().get("bazaarvoice.authenticateuser", 0)


def link(stack: Stack, **query: str) -> str:
    """The email link, as Bazaarvoice would append the token to our callback URL."""
    return f"{stack.api_url}/bazaarvoice/confirm?{urlencode(query)}"


def test_with_javascript_the_page_confirms_by_itself_and_a_reload_still_shows_success(
    stack: Stack, sandbox: str, tab: Tab
) -> None:
    token = mint(sandbox)
    before = bv_calls(sandbox)
    with tab.page.expect_navigation(url=f"{stack.api_url}/bazaarvoice/confirm"):
        tab.page.goto(link(stack, bv_authtoken=token))
    tab.page.wait_for_load_state()
    assert tab.heading() == CONFIRMED
    tab.screenshot("success")
    tab.page.reload()  # re-posts the form: answered from the store
    assert tab.heading() == ALREADY
    tab.screenshot("already_confirmed")
    tab.page.goto(link(stack, bv_authtoken=token))  # the email link once more
    tab.page.wait_for_url(f"{stack.api_url}/bazaarvoice/confirm")
    tab.page.wait_for_load_state()
    assert tab.heading() == ALREADY
    assert bv_calls(sandbox) - before == 1


def test_without_javascript_the_button_confirms(stack: Stack, sandbox: str, tab_without_js: Tab) -> None:
    token = mint(sandbox)
    before = bv_calls(sandbox)
    tab_without_js.page.goto(link(stack, bv_authtoken=token))
    assert tab_without_js.heading() == "Confirm your email address"
    button = tab_without_js.page.get_by_role("button", name="Confirm my email address")
    assert button.is_visible()
    tab_without_js.screenshot("confirm_without_javascript")
    assert bv_calls(sandbox) == before  # opening the link spent nothing
    with tab_without_js.page.expect_navigation():
        button.click()
    assert tab_without_js.heading() == CONFIRMED
    tab_without_js.page.reload()
    assert tab_without_js.heading() == ALREADY
    assert bv_calls(sandbox) - before == 1


def test_an_allowed_return_to_is_a_link_the_shopper_follows_never_a_timed_redirect(
    stack: Stack, sandbox: str, tab: Tab
) -> None:
    shop = "https://shop.example.com/reviews/thanks"
    tab.page.route(
        "https://shop.example.com/**",
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<!DOCTYPE html><title>shop</title><h1>Back at the shop</h1>"
        ),
    )
    tab.page.goto(link(stack, bv_authtoken=mint(sandbox), return_to=shop))
    tab.page.wait_for_url(f"{stack.api_url}/bazaarvoice/confirm")
    tab.page.wait_for_load_state()
    assert tab.heading() == CONFIRMED
    continue_link = tab.page.get_by_role("link", name="Continue to authhooks demo store")
    assert continue_link.get_attribute("href") == shop
    assert tab.page.locator('meta[http-equiv="refresh"]').count() == 0  # WCAG 2.2.1: nothing moves by itself
    with tab.page.expect_navigation(url=shop):
        continue_link.click()
    assert tab.heading() == "Back at the shop"


def test_an_expired_link(stack: Stack, sandbox: str, tab: Tab) -> None:
    with tab.page.expect_response(lambda r: r.request.method == "POST") as answer:
        tab.page.goto(link(stack, bv_authtoken="a-token-bazaarvoice-never-issued"))
    assert answer.value.status == 400
    tab.page.wait_for_load_state()
    assert tab.heading() == "This link has expired or was already used"
    tab.screenshot("link_expired")


def test_an_incomplete_link(stack: Stack, tab: Tab) -> None:
    response = tab.page.goto(f"{stack.api_url}/bazaarvoice/confirm?bv_auth")
    assert response is not None and response.status == 400
    assert tab.heading() == "This link is incomplete"
    tab.screenshot("link_incomplete")


@pytest.mark.parametrize(
    ("mode", "status", "heading", "name"),
    [
        ("error_500", 503, "We could not confirm your email address just now", "bazaarvoice_unavailable"),
        ("rate_limit", 503, "Too many confirmations at once", "rate_limited"),
    ],
)
def test_vendor_trouble_then_try_again(
    stack: Stack, sandbox: str, tab: Tab, mode: str, status: int, heading: str, name: str
) -> None:
    requests.post(
        f"{sandbox}/_sandbox/faults",
        json={"vendor": "bazaarvoice", "operation": "authenticateuser", "mode": mode, "count": 1},
        timeout=5,
    ).raise_for_status()
    with tab.page.expect_response(lambda r: r.request.method == "POST") as answer:
        tab.page.goto(link(stack, bv_authtoken=mint(sandbox)))
    assert answer.value.status == status and answer.value.headers.get("retry-after")
    tab.page.wait_for_load_state()
    assert tab.heading() == heading
    tab.screenshot(name)
    with tab.page.expect_navigation():
        tab.page.get_by_role("button", name="Try again").click()
    assert tab.heading() == CONFIRMED
