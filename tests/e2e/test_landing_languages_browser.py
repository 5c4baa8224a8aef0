"""Every landing page state in every language, in Debian's headless Chromium, checked by axe-core.

Two stacks: the shared one (``auto`` mode, no logo: the confirming state, the site name as header) and a branded
one (``button`` mode, a logo, an accent colour, a privacy link: every other state). On each state: ``lang`` and
``dir``, the heading in the page's language, no horizontal scrolling on a phone, no CSP report, and zero axe-core
violations (WCAG 2.2 A/AA and best practices) in the light and the dark colour scheme. English, German and
Japanese are saved as desktop and phone screenshots under tests/e2e/artifacts/landing/ (git-ignored)."""

from __future__ import annotations

import gettext
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from bazaarvoice_confirm import landing
from bazaarvoice_confirm.language import LANGUAGES

from local.stack import Stack
from tests.conftest import ARTIFACT, TEST_OVERRIDES
from tests.e2e.test_landing_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PHONE, Tab, link, mint

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE_VERSION = re.search(r"^AXE_CORE_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)  # type: ignore[union-attr]
AXE_PACKAGE = Path(__file__).resolve().parent / ".axe" / "node_modules" / "axe-core"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
DESKTOP = {"width": 1280, "height": 860}
SCREENSHOT_LANGUAGES = ("en", "de", "ja")
LOGO = "https://cdn.shop.example.com/brand/logo.svg"
LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="180" height="40" viewBox="0 0 180 40">'
    '<rect width="40" height="40" rx="8" fill="#7a1f5c"/><circle cx="20" cy="20" r="9" fill="#fff"/>'
    '<text x="50" y="27" font-family="sans-serif" font-size="20" font-weight="700" fill="#7a1f5c">'
    "Demo&#160;Store</text></svg>"
)
SHOP = "https://shop.example.com/reviews/thanks"
BRAND = {
    "LandingLogoUrl": LOGO,
    "LandingAccentColor": "#7a1f5c",
    "PrivacyUrl": "https://shop.example.com/privacy",
    "BazaarvoiceConfirmMode": "button",
}


def says(code: str, message: str, **values: str) -> str:
    """``message`` as the catalogue of ``code`` says it."""
    text = gettext.translation(landing.DOMAIN, localedir=landing.LOCALES, languages=[code]).gettext(message)
    return text.format(**values)


@pytest.fixture(scope="module")
def axe_source() -> str:
    script = AXE_PACKAGE / "axe.min.js"
    if not script.exists():
        pytest.fail(f"axe-core is missing at {script}: run `make browser` (npm install of axe-core {AXE_VERSION})")
    installed = json.loads((AXE_PACKAGE / "package.json").read_text())["version"]
    assert installed == AXE_VERSION, f"axe-core {installed} installed, the Makefile pins {AXE_VERSION}"
    return script.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install Debian's package (`make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def branded() -> Iterator[Stack]:
    """A second local stack, for a retailer with a logo, an accent colour, a privacy page and the button mode."""
    with Stack(
        api_port=0, dynamodb_port=0, sandbox_port=0, artifact=ARTIFACT, parameter_overrides={**TEST_OVERRIDES, **BRAND}
    ) as running:
        yield running


class Checked(Tab):
    """A tab with axe-core injected into every document (by the browser, beside the page's CSP) and the shop routed."""

    def __init__(self, browser: Any, axe: str, code: str) -> None:
        super().__init__(browser)
        self.code = code
        self.context.add_init_script(script=axe)
        self.context.route(LOGO, lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=LOGO_SVG))
        self.context.route(
            "https://shop.example.com/**",
            lambda route: route.fulfill(
                status=200, content_type="text/html", body="<!DOCTYPE html><title>shop</title><h1>Back at the shop</h1>"
            ),
        )
        self.checked: list[str] = []

    def check(self, state: str, heading: str) -> None:
        """The page in front of us is ``state``: its language, heading, layout and accessibility."""
        page = self.page
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == self.code
        assert page.locator("html").get_attribute("dir") == "ltr"
        assert self.heading() == heading, state
        assert page.locator("main").count() == 1 and page.locator("header").count() == 1
        if page.locator("img.logo").count():
            assert page.evaluate("document.querySelector('img.logo').naturalWidth") > 0, "the CSP let the logo in"
        for viewport, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
            page.set_viewport_size(viewport)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{state} scrolls sideways on a {name} ({overflow}px)"
            if self.code in SCREENSHOT_LANGUAGES:
                folder = ARTIFACTS / "landing" / self.code
                folder.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(folder / f"{state}-{name}.png"), full_page=True)
        for scheme in ("light", "dark"):  # the page follows the system's colour scheme
            page.emulate_media(color_scheme=scheme)
            result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
            violations = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]
            assert violations == [], f"{self.code} {state} {scheme}: {violations}"
            assert len(result["passes"]) > 10  # axe really ran its rules
        page.emulate_media(color_scheme="light")
        self.checked.append(state)

    def close(self) -> None:
        assert self.csp_violations() == []
        assert not [line for line in self.console if line.startswith("pageerror")], self.console
        self.context.close()


@pytest.fixture
def sandbox_of() -> Iterator[Any]:
    used: list[str] = []

    def sandbox(stack: Stack) -> str:
        used.append(stack.sandbox_url)
        return stack.sandbox_url

    yield sandbox
    for url in used:
        requests.delete(f"{url}/_sandbox/faults", timeout=5).raise_for_status()


def fault(sandbox_url: str, mode: str) -> None:
    requests.post(
        f"{sandbox_url}/_sandbox/faults",
        json={"vendor": "bazaarvoice", "operation": "authenticateuser", "mode": mode, "count": 1, "seconds": 3},
        timeout=5,
    ).raise_for_status()


# Test-only (an init script, outside the page's CSP): hold the form the page submits, then let it go.
HOLD_SUBMIT = """
const submit = HTMLFormElement.prototype.submit;
HTMLFormElement.prototype.submit = function () { window.heldForm = this; };
window.releaseForm = () => submit.call(window.heldForm);
"""

FAULTS = [  # (state, sandbox fault, heading, the sentence saying why)
    (
        "rate_limited",
        "rate_limit",
        "Too many confirmations at once",
        "A lot of people are confirming right now. Nothing is lost: your link still works.",
    ),
    (
        "vendor_unavailable",
        "error_500",
        "We could not confirm your email address just now",
        "Our review partner cannot be reached at the moment, so your address is not confirmed yet.",
    ),
    (
        "vendor_timeout",
        "timeout",
        "We could not confirm your email address just now",
        "Our review partner took too long to answer, so your address is not confirmed yet.",
    ),
    (
        "vendor_rejected",
        "garbage",
        "We could not confirm your email address just now",
        "Our review partner did not answer as expected, so your address is not confirmed yet.",
    ),
]


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_state_in_every_language_is_accessible(
    chromium: Any, axe_source: str, stack: Stack, branded: Stack, sandbox_of: Any, code: str
) -> None:
    bv = sandbox_of(branded)
    site = "authhooks demo store"
    locale = {"en": "en_US", "de": "de_DE", "ja": "ja_JP", "pt": "pt_BR", "sv": "sv_SE"}.get(code, code)
    tab = Checked(chromium, axe_source, code)
    try:
        # The branded stack, button mode: the shopper presses the button.
        tab.page.goto(link(branded, bv_authtoken=mint(bv), return_to=SHOP, locale=locale))
        tab.check("confirm", says(code, "Confirm your email address"))
        with tab.page.expect_navigation():
            tab.page.get_by_role("button", name=says(code, "Confirm my email address")).click()
        tab.check("confirmed", says(code, "Your email address is confirmed"))
        tab.page.reload()
        tab.check("already_confirmed", says(code, "Your email address is already confirmed"))
        tab.page.get_by_role("link", name=says(code, "Continue to {site}", site=site)).click()
        tab.page.wait_for_url(SHOP)
        tab.page.goto(link(branded, bv_authtoken="a-token-bazaarvoice-never-issued", locale=locale))
        with tab.page.expect_navigation():
            tab.page.get_by_role("button", name=says(code, "Confirm my email address")).click()
        tab.check("link_expired", says(code, "This link has expired or was already used"))
        tab.page.goto(f"{branded.api_url}/bazaarvoice/confirm?locale={locale}&bv_auth")
        tab.check("link_incomplete", says(code, "This link is incomplete"))
        for state, mode, heading, why in FAULTS:
            tab.page.goto(link(branded, bv_authtoken=mint(bv), locale=locale))
            fault(bv, mode)
            with tab.page.expect_navigation():
                tab.page.get_by_role("button", name=says(code, "Confirm my email address")).click()
            tab.check(state, says(code, heading))
            assert says(code, why) in tab.page.locator("main").inner_text()
        with tab.page.expect_navigation():
            tab.page.get_by_role("button", name=says(code, "Try again")).click()
        tab.check("retried", says(code, "Your email address is confirmed"))
        assert tab.page.locator("footer a").all_inner_texts() == [
            says(code, "Contact {site} support", site=site),
            says(code, "Privacy policy"),
        ]
        # The shared stack, auto mode: the page confirms by itself and says so in its live region.
        # The page's own script must set the status and submit; the test holds the submission to look at that state.
        tab.page.add_init_script(HOLD_SUBMIT)
        tab.page.goto(link(stack, bv_authtoken=mint(stack.sandbox_url), return_to=SHOP, locale=locale))
        tab.page.wait_for_function("window.heldForm !== undefined", polling=100)
        assert tab.page.get_by_role("status").inner_text() == says(code, "Confirming your email address…")
        assert tab.page.evaluate("window.heldForm.id") == "confirm-form"
        assert tab.page.locator("input[name=locale]").get_attribute("value") == code  # the choice travels with it
        tab.check("confirming", says(code, "Confirm your email address"))
        with tab.page.expect_navigation():
            tab.page.evaluate("window.releaseForm()")
        tab.check("confirmed_auto", says(code, "Your email address is confirmed"))
    finally:
        tab.close()
    assert len(tab.checked) == 12


def test_the_browsers_language_chooses_the_page_without_a_locale(chromium: Any, stack: Stack) -> None:
    context = chromium.new_context(locale="de-AT", viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(f"{stack.api_url}/bazaarvoice/confirm?bv_auth")
        assert page.locator("html").get_attribute("lang") == "de"
        assert page.locator("h1").inner_text() == "Dieser Link ist unvollständig"
    finally:
        context.close()
