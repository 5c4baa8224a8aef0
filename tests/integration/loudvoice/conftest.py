"""Fixtures for the LoudVoice tests: call counters and emitted metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.loudvoice.calls import lv_calls


@pytest.fixture
def lv(sandbox_url: str) -> Callable[[], dict[str, int]]:
    """The LoudVoice call counters of this test's (reset) sandbox."""
    return lambda: lv_calls(sandbox_url)


@pytest.fixture
def emitted_metrics(capsys: pytest.CaptureFixture[str]) -> Callable[[], list[dict[str, Any]]]:
    """The EMF blobs printed so far (Powertools writes metrics to stdout)."""

    def read() -> list[dict[str, Any]]:
        out = capsys.readouterr().out
        return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]

    return read
