"""Cold start: a fresh interpreter imports each handler from the sam build artifact and runs its first call."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.environment import Backends
from bench.stats import summarize
from local import events, runtime, template

_UUID = "0b7c2a1e-4f3d-4c2b-9a8e-1d2c3b4a5f60"
# The first invocation of each function: a store read that misses (the same work on every run).
FIRST_CALL = {
    "BazaarvoiceConfirmFunction": (
        "GET",
        "/bazaarvoice/users/bench-user",
        "GET /bazaarvoice/users/{bv_user_id}",
        {"bv_user_id": "bench-user"},
    ),
    "LoudVoiceSessionFunction": (
        "GET",
        f"/loudvoice/sessions/{_UUID}",
        "GET /loudvoice/sessions/{session_token}",
        {"session_token": _UUID},
    ),
    "LiveVoxLoginFunction": (
        "GET",
        "/livevox/sessions/bench-session",
        "GET /livevox/sessions/{session_id}",
        {"session_id": "bench-session"},
    ),
}

_PROBE = """
import json, sys, time
sys.path[:0] = json.loads(sys.argv[1])
started = time.perf_counter()
import {module} as app
imported = time.perf_counter()
class Context:
    function_name = {name!r}; memory_limit_in_mb = 512; aws_request_id = "bench"; function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
    def get_remaining_time_in_millis(self): return 15000
result = app.{attribute}(json.loads(sys.argv[2]), Context())
done = time.perf_counter()
print(json.dumps({{"import_ms": (imported - started) * 1000, "first_ms": (done - imported) * 1000,
                  "status": result["statusCode"]}}))
"""

_BASE = """
import json, sys, time
sys.path[:0] = json.loads(sys.argv[1])
started = time.perf_counter()
import boto3
print(json.dumps({"import_ms": (time.perf_counter() - started) * 1000}))
"""


def _run(code: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    # -I -S: no site-packages and no PYTHONPATH, so only what the probe puts on sys.path is importable. -B: write no
    # .pyc (-I ignores PYTHONDONTWRITEBYTECODE), as on Lambda, whose /opt and /var/task are read-only: every run
    # compiles what the artifact does not ship compiled.
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _unpacked(directories: tuple[Path, Path], target: Path) -> tuple[Path, Path]:
    """Copies of the function's code and layer directories, the way Lambda unpacks their zips (with the .pyc files
    `make build` compiled; nothing here writes others, see _run)."""
    copies = []
    for index, directory in enumerate(directories):
        copy = target / str(index) / directory.name
        shutil.copytree(directory, copy, symlinks=True)
        copies.append(copy)
    return copies[0], copies[1]


def measure(backends: Backends, runs: int) -> dict[str, Any]:
    functions = template.functions(template.cached())
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        runtime_dir = runtime.lambda_runtime_dir(Path(scratch) / "runtime")
        base_env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
        base = [_run(_BASE, [json.dumps([str(runtime_dir)])], base_env)["import_ms"] for _ in range(runs)]
        results["import boto3 (base)"] = {"import_ms": summarize(base).as_dict()}
        for logical_id, (method, path, route_key, params) in FIRST_CALL.items():
            fn = functions[logical_id]
            code, layer = _unpacked(runtime.paths(fn, "build"), Path(scratch) / logical_id)
            event = events.http_api_event(method, path, route_key=route_key, path_parameters=params, iam=True)
            probe = _PROBE.format(module=fn.module, name=logical_id, attribute=fn.attribute)
            env = {**base_env, **backends.function_env(logical_id), "POWERTOOLS_METRICS_NAMESPACE": "authhooks"}
            samples = [
                _run(probe, [json.dumps([str(code), str(layer), str(runtime_dir)]), json.dumps(event)], env)
                for _ in range(runs)
            ]
            imports = [s["import_ms"] for s in samples]
            results[logical_id] = {
                "import_ms": summarize(imports).as_dict(),
                "first_invocation_ms": summarize([s["first_ms"] for s in samples]).as_dict(),
                "statuses": sorted({s["status"] for s in samples}),
                "import_ratio_to_boto3": round(summarize(imports).median / summarize(base).median, 2),
            }
    return results
