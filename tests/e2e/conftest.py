"""The e2e fixture: the whole local stack (what `make dev` runs) on free ports, shared by the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.stack import Stack
from tests.conftest import ARTIFACT, TEST_OVERRIDES


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """moto's server, the vendor sandboxes, one worker pool per function and the HTTP API, on ephemeral ports.

    Use ``stack.api_url`` with a real HTTP client, ``stack.sandbox_url`` for the ``/_sandbox`` controls, and
    ``stack.client("dynamodb")`` to look at the table. Functions load the artifact ``AUTHHOOKS_ARTIFACT`` names.
    """
    with Stack(
        api_port=0, dynamodb_port=0, sandbox_port=0, artifact=ARTIFACT, parameter_overrides=TEST_OVERRIDES
    ) as running:
        yield running
