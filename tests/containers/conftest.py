"""The container fixtures: the real SAM CLI, the images `make images` builds, and a local stack for both to share.

A machine where containers cannot run fails these tests in CI (CI=true) and skips them, saying why, elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from local import images, sam, template
from local.stack import Stack
from tests.conftest import ARTIFACT, TEST_OVERRIDES

SETTLE_SECONDS = 180  # one `sam local invoke` under qemu on a busy machine, with SAM's image build


def _not_ready() -> str | None:
    """Why containers cannot run here, or None."""
    info = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, check=False
    )
    if info.returncode != 0:
        return f"no Docker daemon ({info.stderr.strip()[:200]}); `make images` starts one as root"
    for architecture in images.ARCHITECTURES:
        if not images.up_to_date(architecture):
            return f"{images.image_name(architecture)} is missing or stale: run `make images`"
    if not (sam.BUILD_DIR / "template.yaml").exists():
        return "no sam build output: run `make build`"
    return None


@pytest.fixture(scope="session")
def containers() -> None:
    reason = _not_ready()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"containers cannot run on this CI machine: {reason}")
    pytest.skip(f"containers cannot run here: {reason}")


@pytest.fixture(scope="session")
def shared_stack(containers: None) -> Iterator[Stack]:
    """The local stack (what `make dev` runs): its moto and sandboxes serve the containers too."""
    with Stack(
        api_port=0, dynamodb_port=0, sandbox_port=0, artifact=ARTIFACT, parameter_overrides=TEST_OVERRIDES
    ) as running:
        yield running


@pytest.fixture(scope="session")
def sam_x86_64(shared_stack: Stack) -> Iterator[sam.Setup]:
    """SAM on the x86_64 image; the default (arm64) build serves, its code and layer being pure Python."""
    from local.overrides import Settings

    with sam.prepared(
        shared_stack.sandbox_url, shared_stack.dynamodb_url, "x86_64", Settings(parameters=TEST_OVERRIDES)
    ) as setup:
        yield setup


@pytest.fixture(scope="session")
def sam_arm64(shared_stack: Stack) -> Iterator[sam.Setup]:
    """SAM on the arm64 image with the template as it is (Architectures: [arm64]) and its `sam build` output."""
    from local.overrides import Settings

    with sam.prepared(
        shared_stack.sandbox_url, shared_stack.dynamodb_url, None, Settings(parameters=TEST_OVERRIDES)
    ) as setup:
        assert setup.architecture == "arm64"
        yield setup


def sam_invoke(setup: sam.Setup, function: str, event: os.PathLike[str]) -> dict[str, Any]:
    """`sam local invoke` once: the function's result (SAM prints it as the last line of stdout)."""
    done = subprocess.run(
        setup.invoke_command(function, event),
        env=sam.sam_environment(),
        cwd=template.ROOT,
        capture_output=True,
        text=True,
        timeout=SETTLE_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"sam local invoke failed:\n{done.stderr[-4000:]}"
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines, f"sam local invoke printed no result:\n{done.stderr[-4000:]}"
    return json.loads(lines[-1])


def body_shape(content_type: str, body: str) -> Any:
    """What two answers must share: JSON's structure (keys and value types, an error's code), else the media type."""
    media = content_type.split(";", maxsplit=1)[0].strip().lower()
    if not media.endswith("json"):
        return media
    return _structure(json.loads(body)) if body else None


def _structure(value: Any) -> Any:
    if isinstance(value, dict):
        # An error's code is part of its shape: the same failure, not just any problem document.
        return {key: (item if key == "code" else _structure(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [_structure(item) for item in value[:1]]
    return type(value).__name__
