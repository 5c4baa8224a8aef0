"""The audit's figures: written only during an audit, summed per figure, shown as one Markdown table."""

from __future__ import annotations

from pathlib import Path

import pytest

from local import audit


def test_tally_writes_nothing_outside_an_audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(audit.AUDIT_DIR, raising=False)
    audit.tally("fuzz.cases", "GET /x")
    assert list(tmp_path.iterdir()) == []


def test_figures_are_summed_and_tabled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(audit.AUDIT_DIR, str(tmp_path))
    for _ in range(3):
        audit.tally("fuzz.cases", "GET /x")
    audit.tally("fuzz.cases", "PUT /y", count=5)
    audit.tally("faults.tried", "a timeout")
    audit.tally("faults.survived", "a timeout")
    audit.tally("canaries.leaked", count=0)
    figures = audit.read_figures(tmp_path)
    assert figures["fuzz.cases"] == {"GET /x": 3, "PUT /y": 5}

    text = audit.table(figures, ["GET /x", "PUT /y", "DELETE /z"], 1.5, "9 passed")
    lines = text.splitlines()
    assert lines[0].startswith("| what") and all(line.startswith("|") and line.endswith("|") for line in lines)
    assert "8 over 2 operations (at least 0 each)" in text
    assert "| 1 / 1 (every vendor operation" in text
    assert "2 / 3 template routes" in text
    assert "9 passed in 1.5 min" in text
