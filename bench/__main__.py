"""`python -m bench [--quick]`: run every benchmark side by side, print a markdown table, write JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import cold_start, report, size
from bench.environment import backends

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for package in ("boto3", "botocore", "moto", "aws-lambda-powertools", "requests"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "versions": versions,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny counts: only checks that the code still works")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    counts = (
        {"cold_runs": 2, "warm_calls": 20, "saved_requests": 40, "latency_ms": 5}
        if args.quick
        else {"cold_runs": 15, "warm_calls": 2000, "saved_requests": 1000, "latency_ms": 150}
    )

    started = time.time()
    results: dict[str, Any] = {"machine": machine(), "counts": counts, "quick": args.quick}
    with backends() as env:
        results["cold_start"] = cold_start.measure(env, counts["cold_runs"])
        from bench import vendor_calls, warm

        results["warm"] = warm.measure(env, counts["warm_calls"])
        results["vendor_calls"] = vendor_calls.measure(env, counts["saved_requests"], counts["latency_ms"])
    results["size"] = size.measure()
    results["elapsed_s"] = round(time.time() - started, 1)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(report.markdown(results))
    sys.stdout.write(f"\nwrote {args.output}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
