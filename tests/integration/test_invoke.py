"""`python -m local.invoke` (`make invoke`) as a subprocess: the result JSON on stdout, logs on stderr."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from local import template
from local.stack import Stack

EVENT = template.ROOT / "events" / "livevox_login_account.json"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_invoke(*args: str, ports: dict[str, int]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **{f"AUTHHOOKS_{name.upper()}_PORT": str(port) for name, port in ports.items()}}
    return subprocess.run([sys.executable, "-m", "local.invoke", *args], cwd=template.ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def assert_a_payload_2_result(stdout: str) -> None:
    result = json.loads(stdout)  # stdout holds the result and nothing else
    assert isinstance(result["statusCode"], int)
    assert isinstance(result["headers"], dict)
    assert isinstance(result["body"], str)


def test_without_a_dev_stack_it_brings_its_own_moto_and_sandboxes() -> None:
    done = run_invoke("LiveVoxLoginFunction", str(EVENT), ports={"dynamodb": closed_port(), "sandbox": closed_port()})

    assert done.returncode == 0, done.stderr
    assert_a_payload_2_result(done.stdout)
    assert "moto in process" in done.stderr


@pytest.fixture
def running_stack() -> Iterator[Stack]:
    with Stack(api_port=0, dynamodb_port=0, sandbox_port=0) as stack:
        yield stack


def test_with_a_dev_stack_up_it_uses_that_stack(running_stack: Stack) -> None:
    ports = {"dynamodb": int(running_stack.dynamodb_url.rsplit(":", 1)[1]),
             "sandbox": int(running_stack.sandbox_url.rsplit(":", 1)[1])}

    done = run_invoke("LiveVoxLoginFunction", str(EVENT), ports=ports)

    assert done.returncode == 0, done.stderr
    assert_a_payload_2_result(done.stdout)
    assert f"using the dev stack (DynamoDB {running_stack.dynamodb_url}" in done.stderr


def test_an_unknown_function_is_a_usage_error() -> None:
    done = run_invoke("NoSuchFunction", str(EVENT), ports={})

    assert done.returncode == 2
    assert "LiveVoxLoginFunction" in done.stderr and done.stdout == ""
