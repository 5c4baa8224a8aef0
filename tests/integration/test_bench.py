"""The benchmark code still runs (tiny counts; the figures themselves are only read from `make bench`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from local import template

pytestmark = pytest.mark.stack  # `python -m bench` in a subprocess, with a stack of its own


def test_bench_quick_run_writes_every_section(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=template.ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "### Cold start" in done.stdout and "### Size of the build" in done.stdout
    results = json.loads(output.read_text())
    functions = set(template.functions(template.cached()))
    assert functions <= set(results["cold_start"])
    for name in functions:
        assert {"median", "p90", "p99", "min", "max", "runs"} <= set(results["cold_start"][name]["import_ms"])
    assert len(results["warm"]) == 3
    for row in results["warm"].values():
        assert row["dynamodb_requests_per_hit"] == 1
    assert results["warm"]["LiveVox session reuse"]["dynamodb_operations"] == ["GetItem"]  # a hit is one read
    assert results["vendor_calls"]["LiveVox (10 accounts)"]["vendor_calls"] == 10
    assert results["vendor_calls"]["LoudVoice (1 author, concurrent)"]["vendor_calls"] == 1
    storm = results["vendor_calls"]["LiveVox wrong-password storm (1 user)"]
    assert 0 < storm["vendor_calls"] <= storm["floor"]
    assert storm["user_locked"] == {"through_authhooks": False, "vendor_every_time": True}
    repeats = results["vendor_calls"]["bazaarvoice_repeats"]
    assert repeats["vendor_calls_per_double_submit"] == 1
    assert repeats["double_submit_answers"]["statuses"] == {"200": 40}
    assert repeats["vendor_calls_per_repeated_refused_token"] == 1
    assert "### Bazaarvoice calls for repeated links" in done.stdout
    assert {"SharedLayer", *functions} == set(results["size"])
