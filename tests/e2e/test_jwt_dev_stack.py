"""`make dev` in JWT mode as the README starts it: its parameter overrides, the sandbox's test issuer, a bearer call."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest
import requests

from local.sandbox.client import SandboxClient
from tests.devserver import free_ports, start_make_dev
from tests.integration.test_caller_kit import README

LOGIN = {"account": "demo"}


def readme_overrides(sandbox_port: int) -> str:
    """The README's ``AUTHHOOKS_PARAMETER_OVERRIDES`` for JWT mode, on the test's sandbox port instead of 3100."""
    match = re.search(r'^AUTHHOOKS_PARAMETER_OVERRIDES="(JwtIssuer=[^"]+)" make dev$', README, re.M)
    assert match, "the README shows no `make dev` in JWT mode"
    assert "127.0.0.1:3100/" in match[1]
    return match[1].replace("127.0.0.1:3100/", f"127.0.0.1:{sandbox_port}/")


@pytest.mark.devstack
def test_make_dev_in_jwt_mode_checks_bearer_tokens(tmp_path: Path) -> None:
    (sandbox_port,) = free_ports(1)
    log = tmp_path / "make-dev.log"
    # The sandbox's port is ours (the issuer URL names it), not the one start_make_dev picked.
    process, api_url, _ = start_make_dev(
        log, AUTHHOOKS_SANDBOX_PORT=str(sandbox_port), AUTHHOOKS_PARAMETER_OVERRIDES=readme_overrides(sandbox_port)
    )
    try:
        sandbox = SandboxClient(f"http://127.0.0.1:{sandbox_port}")
        refused = requests.post(f"{api_url}/livevox/sessions", json=LOGIN, timeout=30)
        assert refused.status_code == 401 and refused.json() == {"message": "Unauthorized"}
        assert sandbox.calls().get("livevox.login", 0) == 0
        token = sandbox.mint_jwt(sub="dev-backend")
        login = requests.post(
            f"{api_url}/livevox/sessions", json=LOGIN, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )
        assert login.status_code == 200, login.text
        assert sandbox.calls()["livevox.login"] == 1
        page = requests.get(f"{api_url}/bazaarvoice/confirm", timeout=30)
        assert page.status_code == 400 and "text/html" in page.headers["Content-Type"], "the landing stays public"
        banner = log.read_text()
        assert f"server routes take a bearer JWT from {sandbox.issuer_url}" in banner
        assert "accept unsigned requests" not in banner
    finally:
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=15) == 0, log.read_text()
