"""``make audit``: the proving tests with larger budgets, then one table of what they did and found.

The tests count what they do with ``tally(...)``; the counts go to ``$AUTHHOOKS_AUDIT_DIR/figures.jsonl`` only when
the audit runs them (a plain ``pytest`` writes nothing). ``python -m local.audit`` runs the selection with pytest
(in this process), reads the figures and prints the table; its exit code is pytest's.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

AUDIT_DIR = "AUTHHOOKS_AUDIT_DIR"
FIGURES = "figures.jsonl"
# What the audit runs. Its budgets come from the environment (make audit sets AUTHHOOKS_FUZZ_EXAMPLES and
# AUTHHOOKS_FUZZ_SCENARIOS); CI runs the same tests with the tests' own, smaller, defaults.
SELECTION = [
    "tests/integration/test_openapi.py",
    "tests/integration/test_template.py",
    "tests/integration/test_fault_matrix.py",
    "tests/integration/test_aws_fault_matrix.py",
    "tests/e2e/test_fuzz.py",
    "tests/e2e/test_hostile_transport.py",
    "tests/e2e/test_canaries.py",
]


def tally(figure: str, key: str = "", count: int = 1) -> None:
    """Add ``count`` to ``figure`` (per ``key``) for the audit's table; nothing happens outside an audit."""
    directory = os.environ.get(AUDIT_DIR)
    if not directory:
        return
    with (Path(directory) / FIGURES).open("a", encoding="utf-8") as figures:
        figures.write(json.dumps({"figure": figure, "key": key, "count": count}) + "\n")


def read_figures(directory: Path) -> dict[str, Counter[str]]:
    """figure -> key -> summed count."""
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    path = directory / FIGURES
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            totals[entry["figure"]][entry["key"]] += entry["count"]
    return totals


def table(figures: dict[str, Counter[str]], routes: list[str], minutes: float, outcome: str) -> str:
    """The audit's one table (Markdown, so the README can carry it as it is)."""
    cases = figures["fuzz.cases"]
    covered = [route for route in routes if cases[route] > 0]
    tried, survived = sum(figures["faults.tried"].values()), sum(figures["faults.survived"].values())
    aws_tried = sum(figures["aws_faults.tried"].values())
    aws_survived = sum(figures["aws_faults.survived"].values())
    hostile, clean = sum(figures["hostile.sent"].values()), sum(figures["hostile.clean"].values())
    canaries = {name: sum(figures[f"canaries.{name}"].values()) for name in ("values", "log_lines", "answers", "items")}
    fewest = min((cases[route] for route in routes), default=0)
    rows = [
        (
            "cases generated (schemathesis)",
            f"{sum(cases.values())} over {len(covered)} operations (at least {fewest} each), "
            f"plus {sum(figures['fuzz.scenario_steps'].values())} steps in stateful scenarios",
        ),
        ("server errors found", f"{sum(figures['server_errors'].values())} (fuzzing and hostile requests)"),
        ("faults tried / survived", f"{tried} / {survived} (every vendor operation x every fault mode)"),
        (
            "AWS faults tried / survived",
            f"{aws_tried} / {aws_survived} (every DynamoDB and Secrets Manager operation "
            "of every route x every fault mode: the promised 503, nothing partial, "
            "nothing the vendor confirmed lost)",
        ),
        ("hostile requests answered cleanly", f"{clean} / {hostile} (a 4xx problem or page; nothing split)"),
        (
            "canaries leaked",
            f"{sum(figures['canaries.leaked'].values())} ({canaries['values']} secrets searched in "
            f"{canaries['log_lines']} log lines, {canaries['answers']} answers, "
            f"{canaries['items']} table items)",
        ),
        ("routes covered", f"{len(covered)} / {len(routes)} template routes (every operation of openapi.yaml)"),
        ("tests", f"{outcome} in {minutes:.1f} min"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"| {'what':<{width}} | figure |", f"|{'-' * (width + 2)}|--------|"]
    lines += [f"| {name:<{width}} | {value} |" for name, value in rows]
    return "\n".join(lines)


def _routes() -> list[str]:
    from local import template

    routes = template.routes(template.cached())
    return [f"{r.method} {r.path}" for r in routes if "{proxy+}" not in r.path and r.method != "ANY"]


class Outcomes:
    """A pytest plugin counting test outcomes (a failed set-up or tear-down counts as an error)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call":
            self.counts[report.outcome] += 1
        elif report.failed:
            self.counts["errors"] += 1
        elif report.skipped:
            self.counts["skipped"] += 1

    def __str__(self) -> str:
        return ", ".join(f"{self.counts[name]} {name}" for name in ("passed", "failed", "errors", "skipped"))


def main() -> int:
    import pytest

    root = Path(__file__).resolve().parent.parent
    os.chdir(root)
    outcomes = Outcomes()
    with tempfile.TemporaryDirectory(prefix="authhooks-audit-") as directory:
        os.environ[AUDIT_DIR] = directory
        started = time.monotonic()
        code = pytest.main(["-q", "-p", "no:cacheprovider", *SELECTION], plugins=[outcomes])
        minutes = (time.monotonic() - started) / 60
        print()
        print(table(read_figures(Path(directory)), _routes(), minutes, str(outcomes)))
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
