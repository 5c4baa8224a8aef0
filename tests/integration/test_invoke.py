"""`python -m local.invoke` (`make invoke`) as a subprocess: the result JSON on stdout, logs on stderr."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local import events as routing
from local import placeholders, sam, template
from local.stack import Stack

pytestmark = pytest.mark.stack  # `python -m local.invoke` subprocesses against stacks of its own

EVENT = template.ROOT / "events" / "livevox_login_account.json"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_invoke(*args: str, ports: dict[str, int], **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **{f"AUTHHOOKS_{name.upper()}_PORT": str(port) for name, port in ports.items()}, **extra}
    return subprocess.run(
        [sys.executable, "-m", "local.invoke", *args],
        cwd=template.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


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


@pytest.fixture(scope="module")
def running_stack() -> Iterator[Stack]:
    with Stack(api_port=0, dynamodb_port=0, sandbox_port=0) as stack:
        yield stack


def test_with_a_dev_stack_up_it_uses_that_stack(running_stack: Stack) -> None:
    ports = {
        "dynamodb": int(running_stack.dynamodb_url.rsplit(":", 1)[1]),
        "sandbox": int(running_stack.sandbox_url.rsplit(":", 1)[1]),
    }

    done = run_invoke("LiveVoxLoginFunction", str(EVENT), ports=ports)

    assert done.returncode == 0, done.stderr
    assert_a_payload_2_result(done.stdout)
    assert f"using the dev stack (DynamoDB {running_stack.dynamodb_url}" in done.stderr


def test_an_unknown_function_is_a_usage_error() -> None:
    done = run_invoke("NoSuchFunction", str(EVENT), ports={})

    assert done.returncode == 2
    assert "LiveVoxLoginFunction" in done.stderr and done.stdout == ""


# --- placeholders in events/ (local.placeholders) ---------------------------------------------------------------

EVENTS = sorted((template.ROOT / "events").glob("*.json"))
WITH_PLACEHOLDERS = [path for path in EVENTS if placeholders.names(json.loads(path.read_text(encoding="utf-8")))]
ROUTES = template.routes(template.cached())


def function_of(event: dict[str, Any]) -> str:
    match = routing.match_route(ROUTES, event["requestContext"]["http"]["method"], event["rawPath"])
    assert match is not None
    return match[0].function


def test_every_placeholder_in_events_is_known_and_documented() -> None:
    readme = (template.ROOT / "README.md").read_text(encoding="utf-8")
    used = {name for path in EVENTS for name in placeholders.names(json.loads(path.read_text(encoding="utf-8")))}
    assert used == set(placeholders.PLACEHOLDERS)
    assert len(WITH_PLACEHOLDERS) >= 9
    for name in used:
        assert f"`<{name}>`" in readme, f"README does not explain <{name}>"


@pytest.mark.parametrize("path", WITH_PLACEHOLDERS, ids=[path.stem for path in WITH_PLACEHOLDERS])
def test_without_a_dev_stack_placeholders_are_filled_with_live_values(path: Path) -> None:
    """A filled token or id is one the stack knows: never 404 (unknown id) or the landing's "link expired"."""
    event = json.loads(path.read_text(encoding="utf-8"))

    done = run_invoke(function_of(event), str(path), ports={"dynamodb": closed_port(), "sandbox": closed_port()})

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert "filled <" in done.stderr
    if event["routeKey"].startswith("ANY "):  # the landing's other methods: refused whatever the token
        assert result["statusCode"] == 405, result
        return
    assert result["statusCode"] in (200, 204), result
    if result["body"].startswith("{"):
        body = json.loads(result["body"])
        assert not placeholders.names(body) and "code" not in body, body
    if event["requestContext"]["http"]["method"] == "POST":
        assert "expired" not in result["body"].lower() and "confirmed" in result["body"].lower()


def test_with_a_dev_stack_up_the_placeholder_is_a_session_of_that_stack(running_stack: Stack) -> None:
    ports = {
        "dynamodb": int(running_stack.dynamodb_url.rsplit(":", 1)[1]),
        "sandbox": int(running_stack.sandbox_url.rsplit(":", 1)[1]),
    }
    done = run_invoke("LiveVoxLoginFunction", str(template.ROOT / "events" / "livevox_get_session.json"), ports=ports)

    assert done.returncode == 0, done.stderr
    session_id = json.loads(json.loads(done.stdout)["body"])["session_id"]
    # The session was started in the dev stack (not in a moto of its own): that stack's API knows it.
    assert requests.get(f"{running_stack.api_url}/livevox/sessions/{session_id}", timeout=30).status_code == 200


def test_a_placeholder_that_needs_a_sandbox_is_refused_when_the_vendor_is_real() -> None:
    path = template.ROOT / "events" / "bazaarvoice_confirm_post.json"
    overrides = {"AUTHHOOKS_PARAMETER_OVERRIDES": "BazaarvoiceApiUrl=https://stg.api.bazaarvoice.com"}

    done = run_invoke(
        "BazaarvoiceConfirmFunction",
        str(path),
        ports={"dynamodb": closed_port(), "sandbox": closed_port()},
        **overrides,
    )

    assert done.returncode == 2 and done.stdout == ""
    assert "events/bazaarvoice_confirm_post.json holds the placeholder <bv_authtoken>" in done.stderr
    assert "confirmation email" in done.stderr and "copy the file" in done.stderr


def test_an_unknown_placeholder_is_refused_by_name(tmp_path: Path) -> None:
    event = json.loads((template.ROOT / "events" / "livevox_login.json").read_text(encoding="utf-8"))
    event["body"] = event["body"].replace("agent-007", "<agent_name>")
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(event), encoding="utf-8")

    done = run_invoke("LiveVoxLoginFunction", str(path), ports={"dynamodb": closed_port(), "sandbox": closed_port()})

    assert done.returncode == 2 and done.stdout == ""
    assert "holds <agent_name>, which is not a placeholder" in done.stderr


def test_sam_invoke_gets_a_copy_filled_from_its_stack(running_stack: Stack, tmp_path: Path) -> None:
    """`make sam-invoke`'s filling (local.sam), without containers: the copy's id is a session of that stack."""
    source = template.ROOT / "events" / "loudvoice_get_session.json"

    copy = sam.filled_event(source, running_stack.sandbox_url, running_stack.dynamodb_url, build_dir=tmp_path)

    event = json.loads(copy.read_text(encoding="utf-8"))
    assert copy.parent == tmp_path and not placeholders.names(event)
    token = event["pathParameters"]["session_token"]
    assert event["rawPath"] == f"/loudvoice/sessions/{token}"
    assert requests.get(f"{running_stack.api_url}/loudvoice/sessions/{token}", timeout=30).status_code == 200
    untouched = template.ROOT / "events" / "loudvoice_start_session.json"
    assert (
        sam.filled_event(untouched, running_stack.sandbox_url, running_stack.dynamodb_url, build_dir=tmp_path)
        == untouched
    )
