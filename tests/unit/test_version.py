"""One version: the layer's constant, pyproject.toml, openapi.yaml, the changelog and the vendor clients agree."""

from __future__ import annotations

import re
import tomllib

import yaml
from authhooks import __version__, http

from local import template


def test_pyproject_openapi_and_the_layer_carry_one_version() -> None:
    project = tomllib.loads((template.ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    openapi = yaml.safe_load((template.ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    assert project["version"] == __version__
    assert openapi["info"]["version"] == __version__


def test_the_changelog_has_this_version_and_an_unreleased_section() -> None:
    changelog = (template.ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    assert re.search(rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.MULTILINE)


def test_the_vendor_clients_send_the_version() -> None:
    session = http.vendor_session(http.RetryPolicy(), pool_size=1)
    assert session.headers["User-Agent"] == f"authhooks/{__version__}"


def test_the_licence_is_the_one_pyproject_names() -> None:
    project = tomllib.loads((template.ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    assert "Apache License" in (template.ROOT / "LICENSE").read_text(encoding="utf-8").splitlines()[1]
