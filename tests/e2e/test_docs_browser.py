"""/docs in Debian's headless Chromium: OpenAPI 3.1 rendered by Swagger UI 5 from local assets, tried on its port.

The stack fixture serves on an ephemeral port, so a page that still called the document's old fixed port 3000 (or
relabelled the document 3.0.3 for Swagger UI 4, which showed "Unknown Type: string,null") fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.sandbox.client import SandboxClient
from local.stack import Stack
from tests.e2e.test_landing_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.integration.test_openapi import operations

pytestmark = pytest.mark.browser


def _shown_operations(page: Any) -> set[tuple[str, str]]:
    # Swagger UI puts zero-width spaces into long paths so that they can wrap.
    return {
        (method.upper(), path.replace("\u200b", ""))
        for method, path in zip(
            page.locator(".opblock-summary-method").all_inner_texts(),
            page.locator(".opblock-summary-path").all_inner_texts(),
            strict=True,
        )
    }


def _click_all(page: Any, selector: str, limit: int = 500) -> int:
    """Click the first element ``selector`` matches until none is left (clicking changes what matches)."""
    for clicked in range(limit):
        target = page.locator(selector).first
        if not target.count():
            return clicked
        target.click()
    raise AssertionError(f"{selector} still matches after {limit} clicks")


def _expand_everything(page: Any) -> None:
    """Open every operation, show each operation's schemas as models, and open every schema of the Schemas section
    to its deepest level."""
    _click_all(page, ".opblock:not(.is-open) .opblock-summary-control")
    page.wait_for_function(f"document.querySelectorAll('.opblock.is-open').length === {len(operations())}")
    for tab in range(page.locator('.opblock .tablinks[data-name="model"]').count()):
        page.locator('.opblock .tablinks[data-name="model"]').nth(tab).click()
    _click_all(page, ".models:not(.is-open) > h4")
    # OpenAPI 3.1 schemas are drawn by Swagger UI 5's JSON Schema 2020-12 view: "Expand all" opens one deeply.
    # Every schema an operation shows is one of these components, so opening them all shows every type.
    _click_all(page, '.models button.json-schema-2020-12-expand-deep-button:text-is("Expand all"):visible')


def test_the_docs_page_renders_openapi_3_1_and_tries_requests_on_the_served_port(stack: Stack) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install Debian's package (`make browser`)")
    from playwright.sync_api import sync_playwright

    sandbox = SandboxClient(stack.sandbox_url)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            elsewhere: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "request",
                lambda request: None if request.url.startswith(f"{stack.api_url}/") else elsewhere.append(request.url),
            )
            page.goto(f"{stack.api_url}/docs")
            page.wait_for_selector(".opblock", timeout=30_000)

            assert _shown_operations(page) == set(operations())
            assert page.locator(".info .title").first.inner_text().startswith("authhooks")
            # The version badge Swagger UI reads from the served document's `openapi: 3.1.0` line.
            assert page.locator(".info .version-stamp").inner_text().strip() == "OAS 3.1"

            # "Try it out" on the first server ("/"): the port this page came from, here an ephemeral one.
            servers = page.locator(".servers select option").all_inner_texts()
            assert servers[0].split(" ")[0] == "/", servers
            _try_out_start_session(page, stack, sandbox)

            _expand_everything(page)
            text = page.locator("#swagger-ui").inner_text()
            assert "Unknown Type" not in text
            assert "null" in text, "nullable fields are shown (3.1 type lists), so the check above saw the schemas"
            page.screenshot(path=str(ARTIFACTS / "docs-expanded.png"), full_page=False)
        finally:
            browser.close()
    assert errors == []
    assert elsewhere == [], "every asset and every tried request goes to the served port (no CDN, no port 3000)"


def _try_out_start_session(page: Any, stack: Stack, sandbox: SandboxClient) -> None:
    """PUT /loudvoice/sessions with the document's example body: the stack on the page's port answers it."""
    sandbox.clear_calls()
    operation = page.locator("#operations-LoudVoice-startAuthorSession")
    operation.locator(".opblock-summary-control").click()
    operation.locator(".try-out__btn").click()
    operation.locator("textarea.body-param__text").wait_for()
    with page.expect_response(
        lambda response: response.request.method == "PUT" and response.url == f"{stack.api_url}/loudvoice/sessions"
    ) as answered:
        operation.locator(".execute").click()
    assert answered.value.status in (200, 201), answered.value.text()
    shown = operation.locator(".live-responses-table .response .response-col_status").first
    shown.wait_for(timeout=15_000)
    assert shown.inner_text().strip().startswith(str(answered.value.status))
    assert f"{stack.api_url}/loudvoice/sessions" in operation.locator(".request-url").inner_text()
    body = operation.locator(".live-responses-table .response .response-col_description").inner_text()
    assert "session_token" in body
    # This stack's function did the work: it called LoudVoice's sandbox, or (the example author's session already
    # started by an earlier test of the shared stack) read it from this stack's table, through its AWS proxy.
    calls = sandbox.calls()
    assert any(name.startswith(("loudvoice.", "dynamodb.")) and n for name, n in calls.items()), calls
