"""`sam local invoke` (the real SAM CLI, in our images) on every file in events/, against `make invoke`.

x86_64: every event, same status, content type and body shape as `python -m local.invoke` gives. The x86_64 run
uses the default `sam build` output (built for arm64): the functions and the layer are pure Python (the layer's
requirements.txt says so), so the same files are what an x86_64 build would hold; only the template copy says
x86_64. arm64: one route of each function on the arm64 image (qemu), from the template and build as they are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local import events as routing
from local import sam, template
from local.stack import Stack
from tests.containers.conftest import body_shape, sam_invoke
from tests.devserver import free_ports
from tests.e2e.test_fuzz import forget_everything

EVENTS = sorted((template.ROOT / "events").glob("*.json"))
ROUTES = template.routes(template.cached())


def function_of(event_file: Path) -> str:
    event = json.loads(event_file.read_text(encoding="utf-8"))
    method, path = event["requestContext"]["http"]["method"], event["rawPath"]
    match = routing.match_route(ROUTES, method, path)
    assert match is not None, f"{event_file.name}: no route for {method} {path}"
    return match[0].function


def make_invoke(function: str, event_file: Path) -> dict[str, Any]:
    """`make invoke` as a user runs it, with no dev stack: its own moto and sandboxes, fresh."""
    dynamodb, sandbox = free_ports(2)
    env = {**os.environ, "AUTHHOOKS_DYNAMODB_PORT": str(dynamodb), "AUTHHOOKS_SANDBOX_PORT": str(sandbox)}
    done = subprocess.run(
        [sys.executable, "-m", "local.invoke", function, str(event_file)],
        cwd=template.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


def comparable(result: dict[str, Any]) -> tuple[Any, ...]:
    headers = {name.lower(): value for name, value in (result.get("headers") or {}).items()}
    content_type = headers.get("content-type", "")
    return result.get("statusCode"), content_type, body_shape(content_type, result.get("body") or "")


@pytest.mark.containers
@pytest.mark.parametrize("event_file", EVENTS, ids=[path.stem for path in EVENTS])
def test_every_event_through_sam_x86_64(event_file: Path, sam_x86_64: sam.Setup, shared_stack: Stack) -> None:
    function = function_of(event_file)
    forget_everything(shared_stack)  # what `make invoke` starts from: an empty table, fresh sandboxes

    # Placeholders filled from the stack SAM uses, as `make sam-invoke` does (`make invoke` fills its own).
    by_sam = sam_invoke(
        sam_x86_64, function, sam.filled_event(event_file, shared_stack.sandbox_url, shared_stack.dynamodb_url)
    )
    by_make_invoke = make_invoke(function, event_file)

    assert comparable(by_sam) == comparable(by_make_invoke), (by_sam, by_make_invoke)


ONE_ROUTE_EACH = ["bazaarvoice_get_user.json", "loudvoice_start_session.json", "livevox_login_account.json"]


@pytest.mark.containers
@pytest.mark.parametrize("name", ONE_ROUTE_EACH, ids=[name.split("_")[0] for name in ONE_ROUTE_EACH])
def test_one_route_of_each_function_on_arm64(name: str, sam_arm64: sam.Setup, shared_stack: Stack) -> None:
    event_file = template.ROOT / "events" / name
    function = function_of(event_file)
    forget_everything(shared_stack)
    report = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Architecture}}", sam.images.image_name("arm64")],
        capture_output=True,
        text=True,
        check=True,
    )

    by_sam = sam_invoke(
        sam_arm64, function, sam.filled_event(event_file, shared_stack.sandbox_url, shared_stack.dynamodb_url)
    )
    by_make_invoke = make_invoke(function, event_file)

    assert report.stdout.strip() == "arm64"
    assert comparable(by_sam) == comparable(by_make_invoke), (by_sam, by_make_invoke)
