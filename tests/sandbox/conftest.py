"""Fixtures: a sandbox server on an ephemeral loopback port, fresh for every test."""

from collections.abc import Iterator

import pytest

from local.sandbox.server import SandboxServer


@pytest.fixture
def sandbox_server() -> Iterator[SandboxServer]:
    """A running sandbox; stopped after the test."""
    server = SandboxServer(host="127.0.0.1", port=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sandbox_url(sandbox_server: SandboxServer) -> str:
    """The running sandbox's base URL, e.g. `http://127.0.0.1:54321`."""
    return sandbox_server.url
