"""/docs in Debian's headless Chromium: every operation of openapi.yaml from local assets, tried on the served port."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.stack import Stack
from tests.e2e.test_landing_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.integration.test_openapi import operations

pytestmark = pytest.mark.browser


def test_the_docs_page_renders_every_operation_from_local_assets(stack: Stack) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install Debian's package (`make browser`)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            elsewhere: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: None if request.url.startswith(stack.api_url)
                    else elsewhere.append(request.url))
            page.goto(f"{stack.api_url}/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            # Swagger UI puts zero-width spaces into long paths so that they can wrap.
            shown = {(method.upper(), path.replace("\u200b", "")) for method, path in zip(
                page.locator(".opblock-summary-method").all_inner_texts(),
                page.locator(".opblock-summary-path").all_inner_texts(), strict=True)}
            assert shown == set(operations())
            assert page.locator(".info .title").first.inner_text().startswith("authhooks")
            # "Try it out" calls the first server: the port this stack really serves (not always 3000).
            servers = page.locator(".servers select option").all_inner_texts()
            assert servers[0].split(" ")[0] == stack.api_url, servers
            page.screenshot(path=str(ARTIFACTS / "docs.png"), full_page=False)
        finally:
            browser.close()
    assert errors == []
    assert elsewhere == [], "every asset comes from the local API (no CDN)"
