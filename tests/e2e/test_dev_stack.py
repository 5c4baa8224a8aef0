"""`make dev` as a user runs it: `python -m local` in a terminal, a few requests, then Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from local.stack import Stack
from tests.devserver import start_make_dev

PROBLEM_JSON = "application/problem+json"
# One route of each function, with the bodies of docs/api.md (`make dev`'s banner shows the same).
ONE_ROUTE_EACH = [
    ("GET", "/bazaarvoice/users/no-such-user", None),
    (
        "PUT",
        "/loudvoice/sessions",
        {"author": {"author_reference": "USER-1", "name": "John Doe", "email": "john@example.com"}},
    ),
    ("POST", "/livevox/sessions", {"account": "demo"}),
]


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's bookkeeping is left


def assert_answered_by_the_function(response: requests.Response) -> None:
    """A success JSON or a problem+json from the function: never a gateway failure or a 500."""
    content_type = response.headers.get("Content-Type", "")
    assert content_type.startswith(("application/json", PROBLEM_JSON)), (response.status_code, content_type)
    body: Any = response.json()
    assert response.status_code != 500, body
    if content_type.startswith(PROBLEM_JSON):
        assert body["code"] != "internal_error", body
        assert body["request_id"] == response.headers["apigw-requestid"]


@dataclass
class DevStack:
    process: subprocess.Popen[bytes]
    api_url: str
    sandbox_url: str
    log: Path


@pytest.fixture(scope="module")
def dev_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    log = tmp_path_factory.mktemp("devstack") / "make-dev.log"
    process, api_url, sandbox_url = start_make_dev(log)
    yield DevStack(process, api_url, sandbox_url, log)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.devstack
@pytest.mark.parametrize(("method", "path", "body"), ONE_ROUTE_EACH, ids=["bazaarvoice", "loudvoice", "livevox"])
def test_each_function_answers(dev_stack: DevStack, method: str, path: str, body: Any) -> None:
    response = requests.request(method, dev_stack.api_url + path, json=body, timeout=30)

    assert_answered_by_the_function(response)


@pytest.mark.devstack
def test_banner_and_sandbox_controls(dev_stack: DevStack) -> None:
    calls = requests.get(f"{dev_stack.sandbox_url}/_sandbox/calls", timeout=10)

    assert calls.status_code == 200 and isinstance(calls.json(), dict)
    banner = dev_stack.log.read_text()
    assert dev_stack.api_url in banner and "sandbox-bv-passkey" in banner and "curl -s -X PUT" in banner
    assert banner.count("accept unsigned requests locally") == 1


@pytest.mark.devstack
def test_ctrl_c_stops_everything_cleanly(dev_stack: DevStack) -> None:
    children = descendants(dev_stack.process.pid)
    assert children, "the stack runs its workers in child processes"

    os.killpg(dev_stack.process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    code = dev_stack.process.wait(timeout=15)

    output = dev_stack.log.read_text()
    assert code == 0, output
    assert "Traceback" not in output
    assert not {pid for pid in children if alive(pid)}, "processes outlived `make dev`"


def test_the_stack_fixture_serves_every_function(stack: Stack) -> None:
    for method, path, body in ONE_ROUTE_EACH:
        assert_answered_by_the_function(requests.request(method, stack.api_url + path, json=body, timeout=30))
    tables = stack.client("dynamodb").list_tables()["TableNames"]
    assert tables == [stack.environments["LiveVoxLoginFunction"]["TOKENS_TABLE"]]
